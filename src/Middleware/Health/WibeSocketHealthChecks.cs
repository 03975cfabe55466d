using Microsoft.Extensions.Diagnostics.HealthChecks;
using Shockwave;
using Shockwave.Drain;
using Shockwave.Runtime;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers WibeSocket's readiness and liveness checks.</summary>
public static class WibeSocketHealthChecksBuilderExtensions
{
    /// <summary>The tag of the readiness check (unhealthy while draining); map it to the readiness probe.</summary>
    public const string ReadyTag = "ready";

    /// <summary>The tag of the liveness check (the runtime's heartbeat is ticking); map it to the liveness probe.</summary>
    public const string LiveTag = "live";

    /// <summary>
    /// Adds <c>wibesocket-ready</c> (tag <c>ready</c>: unhealthy from the moment a drain starts, so the load balancer
    /// stops sending upgrades) and <c>wibesocket-live</c> (tag <c>live</c>: the shared heartbeat that enforces keep-alive
    /// and close deadlines has ticked recently). Split them with <c>MapHealthChecks("/health/ready", new() { Predicate = r =&gt; r.Tags.Contains("ready") })</c>.
    /// </summary>
    public static IHealthChecksBuilder AddWibeSocket(this IHealthChecksBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.Add(new HealthCheckRegistration("wibesocket-ready", sp => new ReadinessCheck(sp.GetRequiredService<WibeSocketDrainService>()), HealthStatus.Unhealthy, [ReadyTag]));
        builder.Add(new HealthCheckRegistration("wibesocket-live", sp => new LivenessCheck(sp.GetRequiredService<ConnectionHeartbeat>()), HealthStatus.Unhealthy, [LiveTag]));
        return builder;
    }

    private sealed class ReadinessCheck(IWibeSocketDrain drain) : IHealthCheck
    {
        public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default) =>
            Task.FromResult(drain.IsDraining
                ? HealthCheckResult.Unhealthy($"draining: {drain.RemainingConnections} connections still to close")
                : HealthCheckResult.Healthy());
    }

    private sealed class LivenessCheck(ConnectionHeartbeat heartbeat) : IHealthCheck
    {
        // Ten missed ticks: the thread pool or the timer is stuck, and dead peers are no longer being found.
        private static readonly TimeSpan Stalled = ConnectionHeartbeat.Interval * 10;

        public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default) =>
            Task.FromResult(heartbeat.SinceLastTick is { } since && since > Stalled
                ? HealthCheckResult.Unhealthy($"the connection heartbeat last ticked {since.TotalSeconds:0} s ago")
                : HealthCheckResult.Healthy());
    }
}
