using System.Diagnostics.Metrics;
using Microsoft.Extensions.Logging.Abstractions;
using Shockwave.Diagnostics;
using Shockwave.Runtime;

namespace Shockwave.Testing;

/// <summary>
/// The runtime services every runtime-backed test connection shares: no logging and a meter of its own, so the
/// client's connections never show up in the app's logs or the app's metrics (tests count those), and one heartbeat on
/// the system clock for the close timeout, like the operation timeouts.
/// </summary>
internal static class TestClientRuntime
{
    public static WibeSocketRuntime Shared { get; } = new(
        NullLoggerFactory.Instance,
        new WibeSocketMetrics(new ClientMeterFactory()),
        TimeProvider.System,
        new ConnectionHeartbeat(TimeProvider.System));

    // Meters scoped to this factory: a listener filtering on the app's IMeterFactory (as tests do) never sees them.
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
