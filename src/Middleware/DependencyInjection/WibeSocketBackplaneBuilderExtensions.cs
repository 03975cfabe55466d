using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using Shockwave.Backplane;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Scale-out: connects this node's endpoints to the others' through a broker.</summary>
public static class WibeSocketBackplaneBuilderExtensions
{
    /// <summary>The name of the backplane's health check (tag <c>ready</c>).</summary>
    public const string HealthCheckName = "wibesocket-backplane";

    /// <summary>
    /// Adds a backplane over <paramref name="transportFactory"/>'s broker: every send of <see cref="Shockwave.IWibeSocketClients"/>
    /// also reaches the audience's connections on the other nodes. Options bind from <c>WibeSocket:Backplane</c>, then
    /// <paramref name="configure"/>, validated at start. Adds the <c>wibesocket-backplane</c> health check on the readiness
    /// tag. Broker packages (<c>AddRedisBackplane</c>) call this; applications rarely do.
    /// </summary>
    public static IWibeSocketBuilder AddBackplane(this IWibeSocketBuilder builder, Func<IServiceProvider, IWibeSocketBackplaneTransport> transportFactory, Action<WibeSocketBackplaneOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(transportFactory);
        var services = builder.Services;
        var options = services.AddOptions<WibeSocketBackplaneOptions>().BindConfiguration(WibeSocketBackplaneOptions.ConfigurationSectionName).ValidateOnStart();
        if (configure is not null)
        {
            options.Configure(configure);
        }

        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<WibeSocketBackplaneOptions>, WibeSocketBackplaneOptionsValidator>());
        services.AddSingleton(transportFactory);
        services.TryAddSingleton<BackplaneMetrics>();
        services.TryAddSingleton<WibeSocketScaleOut>();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IHostedService, WibeSocketScaleOut>(sp => sp.GetRequiredService<WibeSocketScaleOut>()));
        services.AddHealthChecks().Add(new HealthCheckRegistration(
            HealthCheckName,
            sp => new BackplaneHealthCheck(sp.GetRequiredService<WibeSocketScaleOut>()),
            failureStatus: null,
            [WibeSocketHealthChecksBuilderExtensions.ReadyTag]));
        return builder;
    }

    private sealed class BackplaneHealthCheck(WibeSocketScaleOut scaleOut) : IHealthCheck
    {
        public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default) =>
            Task.FromResult(scaleOut.IsConnected
                ? HealthCheckResult.Healthy($"node {scaleOut.NodeId} connected to the broker")
                : new HealthCheckResult(scaleOut.Options.UnreachableStatus, $"node {scaleOut.NodeId}: the broker is unreachable; sends reach this node's connections only"));
    }
}
