using System.Diagnostics.Metrics;
using Microsoft.Extensions.Logging.Abstractions;
using Shockwave.Diagnostics;
using Shockwave.Runtime;

namespace Shockwave.Client;

/// <summary>
/// The runtime services a client connection runs on. Connections with the default clock, no logger and no meter factory
/// share one (one heartbeat for all of them, as on the server); any other combination gets its own, whose heartbeat is
/// stopped when its connection ends.
/// </summary>
internal static class ClientRuntime
{
    private static readonly Lazy<WibeSocketRuntime> s_shared = new(() => new WibeSocketRuntime(
        NullLoggerFactory.Instance,
        new WibeSocketMetrics(new ClientMeterFactory()),
        TimeProvider.System,
        new ConnectionHeartbeat(TimeProvider.System)));

    /// <summary>The runtime for <paramref name="options"/>; <paramref name="owned"/> is true when the caller must dispose its heartbeat.</summary>
    public static WibeSocketRuntime For(WibeSocketClientOptions options, out bool owned)
    {
        if (options.TimeProvider == TimeProvider.System && options.LoggerFactory is null && options.MeterFactory is null)
        {
            owned = false;
            return s_shared.Value;
        }

        owned = true;
        return new WibeSocketRuntime(
            options.LoggerFactory ?? NullLoggerFactory.Instance,
            new WibeSocketMetrics(options.MeterFactory ?? new ClientMeterFactory()),
            options.TimeProvider,
            new ConnectionHeartbeat(options.TimeProvider));
    }

    // Meters scoped to this factory: a listener filtering on an app's IMeterFactory never sees the client's connections.
    private sealed class ClientMeterFactory : IMeterFactory
    {
        public Meter Create(MeterOptions options)
        {
            ArgumentNullException.ThrowIfNull(options);
            return new Meter(new MeterOptions(options.Name) { Version = options.Version, Tags = options.Tags, Scope = this });
        }

        public void Dispose()
        {
        }
    }
}
