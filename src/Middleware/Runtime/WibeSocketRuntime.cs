using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Shockwave.Diagnostics;

namespace Shockwave.Runtime;

/// <summary>The services every connection shares: one logger, one meter, one clock, one heartbeat.</summary>
internal sealed class WibeSocketRuntime
{
    public WibeSocketRuntime(ILoggerFactory loggerFactory, WibeSocketMetrics metrics, TimeProvider timeProvider, ConnectionHeartbeat heartbeat, IHostApplicationLifetime? lifetime = null)
    {
        ArgumentNullException.ThrowIfNull(loggerFactory);
        Logger = loggerFactory.CreateLogger("Shockwave.WibeSocket");
        Metrics = metrics;
        TimeProvider = timeProvider;
        Heartbeat = heartbeat;
        ApplicationStopping = lifetime?.ApplicationStopping ?? CancellationToken.None;
    }

    public ILogger Logger { get; }

    public WibeSocketMetrics Metrics { get; }

    public TimeProvider TimeProvider { get; }

    public ConnectionHeartbeat Heartbeat { get; }

    /// <summary>Signalled when the host begins a graceful shutdown: open connections close with 1001.</summary>
    public CancellationToken ApplicationStopping { get; }
}
