using Microsoft.AspNetCore.Connections;
using Microsoft.Extensions.DependencyInjection;
using Shockwave.Transport;

namespace Microsoft.AspNetCore.Hosting;

/// <summary>Opting a Kestrel server into the Shockwave transport.</summary>
public static class ShockwaveTransportWebHostBuilderExtensions
{
    /// <summary>
    /// Serves every TCP and Unix domain socket endpoint of this Kestrel server through the Shockwave transport instead
    /// of Kestrel's socket transport; HTTP, HTTPS and WebSocket traffic all go through it. Other endpoint kinds keep
    /// Kestrel's transport. Call after the server is chosen (<c>WebApplication.CreateBuilder</c> already has).
    /// </summary>
    /// <param name="builder">The web host builder, e.g. <c>WebApplicationBuilder.WebHost</c>.</param>
    /// <param name="configure">Changes to the defaults; also bound from the <c>Shockwave:Transport</c> section.</param>
    public static IWebHostBuilder UseShockwaveTransport(this IWebHostBuilder builder, Action<ShockwaveTransportOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        return builder.ConfigureServices((context, services) =>
        {
            var options = services.AddOptions<ShockwaveTransportOptions>()
                .Bind(context.Configuration.GetSection("Shockwave:Transport"))
                .Validate(o => o.MaxReceiveSize is >= 4096 and <= 1024 * 1024, "Shockwave:Transport:MaxReceiveSize must be between 4096 and 1048576 bytes.")
                .Validate(o => o.MaxReadBufferSize >= 4096, "Shockwave:Transport:MaxReadBufferSize must be at least 4096 bytes.")
                .Validate(o => o.MaxWriteBufferSize >= 4096, "Shockwave:Transport:MaxWriteBufferSize must be at least 4096 bytes.")
                .Validate(o => o.Backlog > 0, "Shockwave:Transport:Backlog must be positive.")
                .Validate(o => o.MaxRetainedBlocks >= 0, "Shockwave:Transport:MaxRetainedBlocks must not be negative.")
                .ValidateOnStart();
            if (configure is not null)
            {
                options.Configure(configure);
            }

            // Kestrel tries the transports registered last first and takes the first that can bind an endpoint.
            services.AddSingleton<IConnectionListenerFactory, ShockwaveTransportFactory>();
        });
    }
}
