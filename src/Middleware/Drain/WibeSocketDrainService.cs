using System.Globalization;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Shockwave.Clients;
using Shockwave.Diagnostics;
using Shockwave.Runtime;
using Shockwave.Upgrade;

namespace Shockwave.Drain;

/// <summary>
/// The graceful drain. When the host begins stopping it holds the stop (<see cref="IHostedLifecycleService.StoppingAsync"/>
/// runs before the server stops its listeners) while it closes every connection at its own random moment in the drain
/// window, each after what was already queued for it; meanwhile new upgrades get 503 and readiness is unhealthy.
/// </summary>
/// <remarks>
/// Uniform random moments, not a fixed close rate: a rate sized for a big pod would close a small one in milliseconds,
/// and every client would reconnect at once. Each client reconnecting at a random moment in the window spreads the
/// reconnects over the surviving pods as evenly as the closes.
/// </remarks>
internal sealed class WibeSocketDrainService : IWibeSocketDrain, IHostedLifecycleService
{
    private readonly WibeSocketConnectionRegistry _registry;
    private readonly WibeSocketOptions _options;
    private readonly HostOptions _hostOptions;
    private readonly IHostApplicationLifetime? _lifetime;
    private readonly TimeProvider _time;
    private readonly WibeSocketMetrics _metrics;
    private readonly ILogger _logger;
    private readonly Lock _gate = new();
    private CancellationTokenRegistration _stopping;
    private Task? _drain;
    private int _remaining;

    public WibeSocketDrainService(
        WibeSocketConnectionRegistry registry,
        IOptions<WibeSocketOptions> options,
        IOptions<HostOptions> hostOptions,
        TimeProvider time,
        WibeSocketMetrics metrics,
        ILoggerFactory loggerFactory,
        IHostApplicationLifetime? lifetime = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(hostOptions);
        ArgumentNullException.ThrowIfNull(loggerFactory);
        _registry = registry;
        _options = options.Value;
        _hostOptions = hostOptions.Value;
        _lifetime = lifetime;
        _time = time;
        _metrics = metrics;
        _logger = loggerFactory.CreateLogger("Shockwave.WibeSocket");
        var drain = _options.Drain;
        Refusal = HandshakeDecision.Refuse(503, "Draining", [new("Retry-After", Math.Max(1, (int)Math.Ceiling(drain.RetryAfter.TotalSeconds)).ToString(CultureInfo.InvariantCulture))]);
        _metrics.ObserveDrain(() => Volatile.Read(ref _remaining));
    }

    public bool IsDraining => Volatile.Read(ref _drain) is not null;

    public int RemainingConnections => IsDraining ? Volatile.Read(ref _remaining) : 0;

    /// <summary>What an upgrade gets during the drain: 503 with Retry-After.</summary>
    public HandshakeDecision Refusal { get; }

    public Task DrainAsync(CancellationToken cancellationToken = default)
    {
        Task drain;
        lock (_gate)
        {
            // The window starts now, whenever the drain's own task first runs.
            drain = _drain ??= RunAsync(_time.GetTimestamp());
        }

        return drain.WaitAsync(cancellationToken);
    }

    public Task StartingAsync(CancellationToken cancellationToken)
    {
        var drain = _options.Drain;
        if (!drain.Enabled)
        {
            return Task.CompletedTask;
        }

        // Every connection must be closed and answered within the host's stop budget, or the host aborts the rest.
        var needed = drain.Window + _options.CloseTimeout;
        if (_hostOptions.ShutdownTimeout != Timeout.InfiniteTimeSpan && needed > _hostOptions.ShutdownTimeout)
        {
            throw new OptionsValidationException(nameof(WibeSocketOptions), typeof(WibeSocketOptions), [
                $"WibeSocket drain window ({drain.Window}) plus close timeout ({_options.CloseTimeout}) is {needed}, more than HostOptions.ShutdownTimeout ({_hostOptions.ShutdownTimeout}): the host would abort connections before the drain ends. Shorten WibeSocket:Drain:Window or raise HostOptions.ShutdownTimeout (and the pod's terminationGracePeriodSeconds)."]);
        }

        // On SIGTERM the lifetime signals stopping before the host calls StoppingAsync: start at once, so readiness
        // flips and new upgrades are refused from the first moment.
        if (_lifetime is not null)
        {
            _stopping = _lifetime.ApplicationStopping.UnsafeRegister(static s => _ = ((WibeSocketDrainService)s!).DrainAsync(), this);
        }

        return Task.CompletedTask;
    }

    public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StartedAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    // Holding the host's stop here keeps Kestrel listening (and answering 503) and its connections untouched until the
    // drain has closed them.
    public async Task StoppingAsync(CancellationToken cancellationToken)
    {
        if (!_options.Drain.Enabled)
        {
            return;
        }

        try
        {
            await DrainAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            Log.DrainOverran(_logger, RemainingConnections);
        }
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StoppedAsync(CancellationToken cancellationToken)
    {
        _stopping.Dispose();
        return Task.CompletedTask;
    }

    private async Task RunAsync(long started)
    {
        await Task.Yield();
        var drain = _options.Drain;
        var connections = new List<WibeSocketConnection>();
        foreach (var endpoint in _registry.Endpoints)
        {
            connections.AddRange(endpoint.Connections);
        }

        Volatile.Write(ref _remaining, connections.Count);
        Log.DrainStarted(_logger, connections.Count, drain.Window);

        // Each connection gets a uniformly random moment in the window; walk them in time order.
        var moments = new (TimeSpan At, WibeSocketConnection Connection)[connections.Count];
        for (int i = 0; i < moments.Length; i++)
        {
            moments[i] = (drain.Window * Random.Shared.NextDouble(), connections[i]);
        }

        Array.Sort(moments, static (a, b) => a.At.CompareTo(b.At));
        foreach (var (at, connection) in moments)
        {
            var wait = at - _time.GetElapsedTime(started);
            if (wait > TimeSpan.Zero)
            {
                await Task.Delay(wait, _time).ConfigureAwait(false);
            }

            // What was queued for it goes first; the close handshake then takes at most the close timeout.
            _ = connection.SendCloseAsync(drain.CloseStatus, "server draining", CloseReasons.ServerDrain).AsTask();
            _metrics.DrainClosed();
            Interlocked.Decrement(ref _remaining);
        }

        // Wait for the handshakes to finish (each is bounded by the close timeout) so the host stops after them.
        var deadline = _options.CloseTimeout + TimeSpan.FromSeconds(1);
        long closing = _time.GetTimestamp();
        while (_time.GetElapsedTime(closing) < deadline && connections.Exists(static c => c.State is not (WibeSocketState.Closed or WibeSocketState.Aborted)))
        {
            await Task.Delay(TimeSpan.FromMilliseconds(50), _time).ConfigureAwait(false);
        }

        Log.DrainCompleted(_logger, connections.Count, _time.GetElapsedTime(started));
    }
}
