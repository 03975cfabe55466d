using System.Diagnostics.Metrics;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Shockwave.Diagnostics;

namespace Shockwave.Runtime;

/// <summary>
/// Runtime services for connections that live outside an ASP.NET Core app's container: the .NET client and the test
/// client. <see cref="Shared"/> (no logging, the system clock, one heartbeat for all) serves the default case; any other
/// clock, logger or meter factory gets runtime services of its own, whose heartbeat the caller disposes.
/// </summary>
internal static class StandaloneRuntime
{
    private static readonly Lazy<WibeSocketRuntime> s_shared = new(() => Create(null, null, TimeProvider.System));

    public static WibeSocketRuntime Shared => s_shared.Value;

    public static WibeSocketRuntime Create(ILoggerFactory? loggerFactory, IMeterFactory? meterFactory, TimeProvider timeProvider) => new(
        loggerFactory ?? NullLoggerFactory.Instance,
        new WibeSocketMetrics(meterFactory ?? new PrivateMeterFactory()),
        timeProvider,
        new ConnectionHeartbeat(timeProvider));

    // Meters scoped to this factory: a listener filtering on an app's IMeterFactory (as tests do) never sees these
    // connections in the app's metrics.
    private sealed class PrivateMeterFactory : IMeterFactory
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
