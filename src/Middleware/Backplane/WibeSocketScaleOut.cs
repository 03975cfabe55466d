using System.Buffers;
using System.Collections.Concurrent;
using System.Globalization;
using System.Runtime.CompilerServices;
using System.Threading.Channels;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Shockwave.Clients;
using Shockwave.Diagnostics;

namespace Shockwave.Backplane;

/// <summary>
/// This node's side of the backplane: publishes what local senders address beyond this node, subscribes to exactly the
/// channels it has local recipients for, frames what arrives once for them, and finds lost messages from per-sender,
/// per-channel sequence numbers.
/// </summary>
/// <remarks>
/// Channels (prefix <c>p</c>, endpoint <c>e</c>): <c>p:e:all</c> for broadcasts, <c>p:e:g:{group}</c> and
/// <c>p:e:u:{user}</c> subscribed while the group or user has a connection here (a group's channel also carries removes,
/// so they stay behind the messages sent before them), and <c>p:n:{node}</c> for sends to one connection and group adds
/// of connections this node holds. One publish per send, whatever the audience.
/// </remarks>
internal sealed partial class WibeSocketScaleOut : IHostedService, IWibeSocketBackplaneReceiver, IAsyncDisposable
{
    private static readonly TimeSpan RetryDelay = TimeSpan.FromSeconds(1);

    private readonly IWibeSocketBackplaneTransport _transport;
    private readonly WibeSocketBackplaneOptions _options;
    private readonly BackplaneMetrics _metrics;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly ConcurrentDictionary<string, EndpointConnections> _endpoints = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, ChannelState> _wanted = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, StrongBox<long>> _published = new(StringComparer.Ordinal);
    private readonly Channel<string> _changes = Channel.CreateUnbounded<string>(new UnboundedChannelOptions { SingleReader = true });
    private readonly CancellationTokenSource _stopping = new();
    private Task _worker = Task.CompletedTask;
    private int _connectionLost;
    private int _notDeliveredLogged;
    private int _disposed;

    public WibeSocketScaleOut(IWibeSocketBackplaneTransport transport, IOptions<WibeSocketBackplaneOptions> options, BackplaneMetrics metrics, TimeProvider time, ILoggerFactory loggerFactory)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(loggerFactory);
        _transport = transport;
        _options = options.Value;
        _metrics = metrics;
        _time = time;
        _logger = loggerFactory.CreateLogger("Shockwave.Backplane");
        NodeId = _options.NodeId;
        NodeChannel = $"{_options.ChannelPrefix}:n:{NodeId}";
        Want(NodeChannel, true);
    }

    public string NodeId { get; }

    public string NodeChannel { get; }

    public bool IsConnected => _transport.IsConnected;

    public WibeSocketBackplaneOptions Options => _options;

    public void Register(EndpointConnections endpoint) => _endpoints[endpoint.ScaleOutName] = endpoint;

    public string ChannelFor(EndpointConnections endpoint, EnvelopeKind kind, string key) => kind switch
    {
        EnvelopeKind.All or EnvelopeKind.AllExcept => $"{_options.ChannelPrefix}:{endpoint.ScaleOutName}:all",
        EnvelopeKind.Group or EnvelopeKind.GroupExcept or EnvelopeKind.RemoveFromGroup => $"{_options.ChannelPrefix}:{endpoint.ScaleOutName}:g:{key}",
        EnvelopeKind.User => $"{_options.ChannelPrefix}:{endpoint.ScaleOutName}:u:{key}",
        _ => $"{_options.ChannelPrefix}:n:{key}",
    };

    /// <summary>The node holding a connection id minted with a backplane (<c>{node}.{local id}</c>), or null.</summary>
    public static string? OwnerOf(string connectionId)
    {
        int dot = connectionId.IndexOf('.', StringComparison.Ordinal);
        return dot > 0 ? connectionId[..dot] : null;
    }

    /// <summary>
    /// Records whether this node needs a channel (it has local recipients on it); the worker makes it so. Returns, for a
    /// wanted channel, the task that completes once this node listens on it.
    /// </summary>
    public Task Want(string channel, bool wanted)
    {
        var state = wanted ? _wanted.GetOrAdd(channel, static _ => new ChannelState()) : null;
        if (!wanted)
        {
            _wanted.TryRemove(channel, out _);
        }

        _changes.Writer.TryWrite(channel);
        return state?.Subscribed ?? Task.CompletedTask;
    }

    /// <summary>
    /// Waits until this node listens on a channel it just started to want, so a member that joined hears what other
    /// nodes send right after the join. Bounded by <see cref="WibeSocketBackplaneOptions.PublishTimeout"/>, and not at
    /// all while the broker is unreachable: a join never waits on an outage.
    /// </summary>
    public async ValueTask WaitUntilListeningAsync(Task subscribed, CancellationToken cancellationToken)
    {
        if (subscribed.IsCompleted || !_transport.IsConnected)
        {
            return;
        }

        try
        {
            await subscribed.WaitAsync(_options.PublishTimeout, _time, cancellationToken).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            // The subscription is still being made (and retried); the join itself is done.
        }
    }

    /// <summary>Refuses a message too large to publish, before anything of the send happens.</summary>
    public void ThrowIfTooLarge(WibeSocketPreparedMessage message)
    {
        if (message.PayloadLength > _options.MaxPayloadLength)
        {
            _metrics.Published(BackplaneMetrics.RefusedResult);
            throw new ArgumentException(
                $"The message is {message.PayloadLength} bytes; the backplane publishes at most {_options.MaxPayloadLength} (WibeSocketBackplaneOptions.MaxPayloadLength). Nothing was sent.",
                nameof(message));
        }
    }

    /// <summary>Publishes one envelope. Never throws for the broker: an unreachable broker is a result, a log line and a metric.</summary>
    public ValueTask<WibeSocketRemoteDelivery> PublishAsync(EndpointConnections endpoint, EnvelopeKind kind, string channel, string target, IReadOnlyCollection<string>? connectionIds, WibeSocketPreparedMessage? message, CancellationToken cancellationToken)
    {
        // Counted even when the publish fails: receivers then see the gap once the broker is back.
        long sequence = Interlocked.Increment(ref _published.GetOrAdd(channel, static _ => new StrongBox<long>()).Value);
        var envelope = new BackplaneEnvelope
        {
            Kind = kind,
            MessageType = message?.Type ?? default,
            Sequence = sequence,
            SenderNodeId = NodeId,
            Endpoint = endpoint.ScaleOutName,
            Target = target,
            ConnectionIds = connectionIds,
            Payload = message is null ? default : message.Payload,
        };
        byte[] buffer = envelope.Rent(out int length);
        return PublishAsync(channel, buffer, length, cancellationToken);
    }

    private async ValueTask<WibeSocketRemoteDelivery> PublishAsync(string channel, byte[] buffer, int length, CancellationToken cancellationToken)
    {
        bool published = false;
        bool bufferFree = true;
        try
        {
            var publish = _transport.PublishAsync(channel, buffer.AsMemory(0, length), cancellationToken);
            if (publish.IsCompleted)
            {
                published = publish.Result;
            }
            else
            {
                var pending = publish.AsTask();
                try
                {
                    published = await pending.WaitAsync(_options.PublishTimeout, _time, cancellationToken).ConfigureAwait(false);
                }
                catch (TimeoutException)
                {
                    // The broker may still write these bytes: they cannot go back to the pool.
                    bufferFree = pending.IsCompleted;
                }
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            throw;
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            Log.PublishFailed(_logger, channel, e.Message);
        }
        finally
        {
            if (bufferFree)
            {
                ArrayPool<byte>.Shared.Return(buffer);
            }
        }

        _metrics.Published(published ? BackplaneMetrics.PublishedResult : BackplaneMetrics.NotDeliveredResult);

        // One line per outage, not one per send: the metric counts every message; the line says when it started.
        if (!published && Interlocked.Exchange(ref _notDeliveredLogged, 1) == 0)
        {
            Log.NotDelivered(_logger, channel);
        }
        else if (published && Volatile.Read(ref _notDeliveredLogged) != 0)
        {
            Interlocked.Exchange(ref _notDeliveredLogged, 0);
        }

        return published ? WibeSocketRemoteDelivery.Published : WibeSocketRemoteDelivery.NotDelivered;
    }

    public void OnMessage(string channel, ReadOnlyMemory<byte> message)
    {
        if (!BackplaneEnvelope.TryRead(message.Span, out var envelope))
        {
            _metrics.Malformed();
            Log.Malformed(_logger, channel, message.Length);
            return;
        }

        if (string.Equals(envelope.SenderNodeId, NodeId, StringComparison.Ordinal))
        {
            return; // Our own publish: its local recipients got it when it was sent.
        }

        _endpoints.TryGetValue(envelope.Endpoint, out var endpoint);
        long missed = _wanted.TryGetValue(channel, out var sequences) ? sequences.Observe(envelope.SenderNodeId, envelope.Sequence) : 0;
        if (endpoint is not null)
        {
            _metrics.Received();
            try
            {
                endpoint.Deliver(envelope);
            }
            catch (ArgumentException e)
            {
                // Text that is not UTF-8, an invalid group name: a peer's bug must not become this node's exception.
                _metrics.Malformed();
                Log.Malformed(_logger, channel, message.Length);
                Log.MalformedDetail(_logger, e.Message);
            }
        }

        // Reported after the message that revealed it is delivered: an application closing the affected connections
        // to make them resync lets them have everything that did arrive first.
        if (missed > 0)
        {
            RaiseGap(new WibeSocketBackplaneGap(WibeSocketBackplaneGapReason.SequenceGap, ScopeOf(envelope.Kind), endpoint, KeyOf(envelope), envelope.SenderNodeId, missed));
        }
    }

    public void OnConnectionLost(string reason)
    {
        if (Interlocked.Exchange(ref _connectionLost, 1) != 0)
        {
            return;
        }

        Log.ConnectionLost(_logger, reason);

        // Whatever was published meanwhile is gone; this gap says so once, so the sequence restarts quietly afterwards.
        foreach (var sequences in _wanted.Values)
        {
            sequences.Reset();
        }

        foreach (var endpoint in _endpoints.Values)
        {
            RaiseGap(new WibeSocketBackplaneGap(WibeSocketBackplaneGapReason.ConnectionLost, WibeSocketBackplaneGapScope.Endpoint, endpoint, null, null, null));
        }
    }

    public void OnConnectionRestored()
    {
        if (Interlocked.Exchange(ref _connectionLost, 0) == 0)
        {
            return;
        }

        Log.ConnectionRestored(_logger, _wanted.Count);
        foreach (string channel in _wanted.Keys)
        {
            _changes.Writer.TryWrite(channel); // Subscriptions that failed while it was down are made now.
        }
    }

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        Log.Starting(_logger, NodeId, _options.ChannelPrefix);
        await _transport.StartAsync(this, cancellationToken).ConfigureAwait(false);
        _worker = Task.Run(() => ReconcileSubscriptionsAsync(_stopping.Token), CancellationToken.None);
    }

    // The drain runs before any hosted service stops, so connections being drained keep their cross-node delivery;
    // the broker connection ends with the container.
    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public async ValueTask DisposeAsync()
    {
        // Registered as itself and as a hosted service: the container disposes it twice.
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        await _stopping.CancelAsync().ConfigureAwait(false);
        _changes.Writer.TryComplete();
        try
        {
            await _worker.ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
        }

        _stopping.Dispose(); // The transport is the container's: it disposes it after this (created before it).
    }

    private async Task ReconcileSubscriptionsAsync(CancellationToken stopping)
    {
        await foreach (string channel in _changes.Reader.ReadAllAsync(stopping).ConfigureAwait(false))
        {
            bool wanted = _wanted.ContainsKey(channel);
            try
            {
                if (wanted)
                {
                    await _transport.SubscribeAsync(channel, stopping).ConfigureAwait(false);
                    if (_wanted.TryGetValue(channel, out var state))
                    {
                        state.MarkSubscribed();
                    }
                }
                else
                {
                    await _transport.UnsubscribeAsync(channel, stopping).ConfigureAwait(false);
                }
            }
            catch (Exception e) when (!stopping.IsCancellationRequested)
            {
                Log.SubscriptionFailed(_logger, channel, e.Message);
                _ = RetryLaterAsync(channel, stopping);
            }
        }
    }

    private async Task RetryLaterAsync(string channel, CancellationToken stopping)
    {
        try
        {
            await Task.Delay(RetryDelay, _time, stopping).ConfigureAwait(false);
            _changes.Writer.TryWrite(channel);
        }
        catch (OperationCanceledException)
        {
        }
    }

    private void RaiseGap(WibeSocketBackplaneGap gap)
    {
        _metrics.Gap(gap.Reason);
        Log.Gap(_logger, gap.Reason, gap.Endpoint ?? "(all)", gap.Scope, gap.Key ?? "", gap.SenderNodeId ?? "(any)", gap.MissedMessages?.ToString(CultureInfo.InvariantCulture) ?? "unknown");
        if (_options.OnGap is { } onGap)
        {
            _ = InvokeAsync(onGap, gap);
        }
    }

    private async Task InvokeAsync(Func<WibeSocketBackplaneGap, CancellationToken, ValueTask> onGap, WibeSocketBackplaneGap gap)
    {
        try
        {
            await onGap(gap, _stopping.Token).ConfigureAwait(false);
        }
        catch (Exception e)
        {
            Log.GapCallbackFailed(_logger, e);
        }
    }

    private static WibeSocketBackplaneGapScope ScopeOf(EnvelopeKind kind) => kind switch
    {
        EnvelopeKind.All or EnvelopeKind.AllExcept => WibeSocketBackplaneGapScope.Endpoint,
        EnvelopeKind.Group or EnvelopeKind.GroupExcept or EnvelopeKind.RemoveFromGroup => WibeSocketBackplaneGapScope.Group,
        EnvelopeKind.User => WibeSocketBackplaneGapScope.User,
        _ => WibeSocketBackplaneGapScope.Node,
    };

    private static string? KeyOf(in BackplaneEnvelope envelope) => envelope.Kind switch
    {
        EnvelopeKind.Group or EnvelopeKind.GroupExcept or EnvelopeKind.RemoveFromGroup or EnvelopeKind.User => envelope.Target,
        _ => null,
    };

    /// <summary>A channel this node wants: whether it listens yet, and the last sequence number seen from each sender.</summary>
    private sealed class ChannelState
    {
        private readonly Dictionary<string, long> _last = new(StringComparer.Ordinal);
        private readonly TaskCompletionSource _subscribed = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public Task Subscribed => _subscribed.Task;

        public void MarkSubscribed() => _subscribed.TrySetResult();

        /// <summary>How many messages from <paramref name="sender"/> were skipped before this one (0 for the first one seen).</summary>
        public long Observe(string sender, long sequence)
        {
            lock (_last)
            {
                ref long last = ref System.Runtime.InteropServices.CollectionsMarshal.GetValueRefOrAddDefault(_last, sender, out bool seen);
                long missed = seen && sequence > last + 1 ? sequence - last - 1 : 0;
                last = Math.Max(last, sequence);
                return missed;
            }
        }

        public void Reset()
        {
            lock (_last)
            {
                _last.Clear();
            }
        }
    }
}
