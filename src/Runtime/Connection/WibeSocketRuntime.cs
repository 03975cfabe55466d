using Microsoft.Extensions.Logging;
using Shockwave.Diagnostics;

namespace Shockwave.Runtime;

/// <summary>The services every connection of a host shares: one logger, one meter, one clock, one heartbeat.</summary>
internal sealed class WibeSocketRuntime
{
    public WibeSocketRuntime(ILoggerFactory loggerFactory, WibeSocketMetrics metrics, TimeProvider timeProvider, ConnectionHeartbeat heartbeat, CancellationToken stopping = default)
    {
        ArgumentNullException.ThrowIfNull(loggerFactory);
        Logger = loggerFactory.CreateLogger("Shockwave.WibeSocket");
        Metrics = metrics;
        TimeProvider = timeProvider;
        Heartbeat = heartbeat;
        Stopping = stopping;
    }

    public ILogger Logger { get; }

    public WibeSocketMetrics Metrics { get; }

    public TimeProvider TimeProvider { get; }

    public ConnectionHeartbeat Heartbeat { get; }

    /// <summary>Signalled when the host begins a graceful shutdown: open connections close with 1001.</summary>
    public CancellationToken Stopping { get; }

    /// <summary>
    /// True when the host drains connections itself on shutdown (the server's graceful drain): a transport read
    /// cancelled by the stopping server then leaves the connection to the drain instead of closing it at once.
    /// </summary>
    public bool ShutdownHandledByDrain { get; init; }
}
