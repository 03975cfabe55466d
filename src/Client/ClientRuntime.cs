using Shockwave.Runtime;

namespace Shockwave.Client;

/// <summary>
/// The runtime services a client connection runs on. Connections with the default clock, no logger and no meter factory
/// share one (one heartbeat for all of them, as on the server); any other combination gets its own, whose heartbeat is
/// stopped when its connection ends.
/// </summary>
internal static class ClientRuntime
{
    /// <summary>The runtime for <paramref name="options"/>; <paramref name="owned"/> is true when the caller must dispose its heartbeat.</summary>
    public static WibeSocketRuntime For(WibeSocketClientOptions options, out bool owned)
    {
        owned = options.TimeProvider != TimeProvider.System || options.LoggerFactory is not null || options.MeterFactory is not null;
        return owned ? StandaloneRuntime.Create(options.LoggerFactory, options.MeterFactory, options.TimeProvider) : StandaloneRuntime.Shared;
    }
}
