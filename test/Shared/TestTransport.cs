using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Connections;
using Microsoft.Extensions.DependencyInjection;

namespace Shockwave.Tests.Shared;

/// <summary>
/// Which Kestrel transport a suite's servers run on, from <c>SHOCKWAVE_TEST_TRANSPORT</c>: unset, what each server
/// ships with (Kestrel's sockets for the test apps, the Shockwave transport for samples/Echo); <c>shockwave</c> or
/// <c>sockets</c> puts every server of the suite on that one. scripts/test.sh runs the middleware, interop and
/// conformance suites a second time on the transport they do not use by default.
/// </summary>
internal static class TestTransport
{
    public static string? Requested => Environment.GetEnvironmentVariable("SHOCKWAVE_TEST_TRANSPORT")?.ToLowerInvariant() switch
    {
        null or "" => null,
        "shockwave" => "shockwave",
        "sockets" => "sockets",
        var other => throw new InvalidOperationException($"SHOCKWAVE_TEST_TRANSPORT must be shockwave or sockets, not '{other}'."),
    };

    /// <summary>Applies the requested transport to a host that would otherwise use Kestrel's sockets.</summary>
    public static void Apply(IWebHostBuilder builder)
    {
        if (Requested == "shockwave")
        {
            builder.UseShockwaveTransport();
        }
        else if (Requested == "sockets")
        {
            // Takes the Shockwave transport out again where the application put it in (samples/Echo does).
            builder.ConfigureServices(services =>
            {
                foreach (var descriptor in services.Where(IsShockwaveTransport).ToList())
                {
                    services.Remove(descriptor);
                }
            });
        }
    }

    private static bool IsShockwaveTransport(ServiceDescriptor descriptor) =>
        descriptor.ServiceType == typeof(IConnectionListenerFactory) &&
        descriptor.ImplementationType?.Assembly.GetName().Name == "Shockwave.Transport";
}
