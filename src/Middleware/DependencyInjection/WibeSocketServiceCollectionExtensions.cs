using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Shockwave;
using Shockwave.Clients;
using Shockwave.Drain;
using Shockwave.Diagnostics;
using Shockwave.Runtime;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers the WibeSocket services.</summary>
public static class WibeSocketServiceCollectionExtensions
{
    /// <summary>The configuration section <see cref="WibeSocketOptions"/> binds from.</summary>
    public const string ConfigurationSectionName = "WibeSocket";

    /// <summary>
    /// Adds WibeSocket: options bound from the <c>WibeSocket</c> configuration section, then <paramref name="configure"/>,
    /// validated at startup; the shared runtime (heartbeat, metrics, logging). Chain a backplane on what it returns
    /// (<c>.AddRedisBackplane(...)</c>) to scale out across nodes.
    /// </summary>
    public static IWibeSocketBuilder AddWibeSocket(this IServiceCollection services, Action<WibeSocketOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(services);
        var options = services.AddOptions<WibeSocketOptions>().BindConfiguration(ConfigurationSectionName).ValidateOnStart();
        if (configure is not null)
        {
            options.Configure(configure);
        }

        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<WibeSocketOptions>, WibeSocketOptionsValidator>());
        services.AddMetrics();
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton<WibeSocketMetrics>();
        services.TryAddSingleton(sp => new ConnectionHeartbeat(sp.GetRequiredService<TimeProvider>()));
        services.TryAddSingleton(sp =>
        {
            // With the drain on, the host's stop drains connections over the window instead of closing them all at once.
            bool drain = sp.GetRequiredService<IOptions<WibeSocketOptions>>().Value.Drain.Enabled;
            var stopping = drain ? CancellationToken.None : sp.GetService<IHostApplicationLifetime>()?.ApplicationStopping ?? CancellationToken.None;
            return new WibeSocketRuntime(
                sp.GetRequiredService<ILoggerFactory>(),
                sp.GetRequiredService<WibeSocketMetrics>(),
                sp.GetRequiredService<TimeProvider>(),
                sp.GetRequiredService<ConnectionHeartbeat>(),
                stopping)
            {
                ShutdownHandledByDrain = drain,
            };
        });
        services.TryAddSingleton<WibeSocketDrainService>();
        services.TryAddSingleton<IWibeSocketDrain>(sp => sp.GetRequiredService<WibeSocketDrainService>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IHostedService, WibeSocketDrainService>(sp => sp.GetRequiredService<WibeSocketDrainService>()));
        services.TryAddSingleton<WibeSocketMarkerService>();
        services.TryAddSingleton<IWibeSocketUserIdProvider, DefaultUserIdProvider>();
        services.TryAddSingleton<WibeSocketConnectionRegistry>();
        services.TryAddSingleton<IWibeSocketClientsProvider>(sp => sp.GetRequiredService<WibeSocketConnectionRegistry>());
        services.TryAddSingleton(typeof(IWibeSocketClients<>), typeof(WibeSocketClients<>));
        return new WibeSocketBuilder(services);
    }
}

/// <summary>Proves <c>AddWibeSocket</c> ran, so <c>MapWibeSocket</c> can say so clearly when it did not.</summary>
internal sealed class WibeSocketMarkerService;
