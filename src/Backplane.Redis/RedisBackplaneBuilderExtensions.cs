using Shockwave.Backplane;
using Shockwave.Backplane.Redis;
using StackExchange.Redis;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Scale-out over Redis pub/sub.</summary>
public static class RedisBackplaneBuilderExtensions
{
    /// <summary>
    /// Connects this node's WibeSocket endpoints to every other node on the same Redis: sends to all, a user, a group or
    /// one connection reach their recipients on every node. Redis being down at start or later never stops the app or
    /// closes a connection; sends then reach local recipients only, and report it.
    /// </summary>
    /// <param name="builder">What <c>AddWibeSocket</c> returned.</param>
    /// <param name="connectionString">A StackExchange.Redis configuration string, e.g. <c>configuration.GetConnectionString("Redis")</c>.</param>
    /// <param name="configure">Backplane options (channel prefix, node id, payload limit, gap callback).</param>
    /// <exception cref="ArgumentException">The connection string is empty or not a valid configuration string.</exception>
    public static IWibeSocketBuilder AddRedisBackplane(this IWibeSocketBuilder builder, string? connectionString, Action<WibeSocketBackplaneOptions>? configure = null)
    {
        if (string.IsNullOrWhiteSpace(connectionString))
        {
            throw new ArgumentException("The Redis backplane needs a connection string (for example ConnectionStrings:Redis = \"localhost:6379\").", nameof(connectionString));
        }

        return builder.AddRedisBackplane(ConfigurationOptions.Parse(connectionString), configure);
    }

    /// <summary>Connects this node's WibeSocket endpoints to every other node on the same Redis, configured in full.</summary>
    /// <param name="builder">What <c>AddWibeSocket</c> returned.</param>
    /// <param name="configuration">The Redis configuration; copied, then set to keep reconnecting and to fail publishes fast while disconnected.</param>
    /// <param name="configure">Backplane options (channel prefix, node id, payload limit, gap callback).</param>
    public static IWibeSocketBuilder AddRedisBackplane(this IWibeSocketBuilder builder, ConfigurationOptions configuration, Action<WibeSocketBackplaneOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(configuration);
        var options = configuration.Clone();
        options.AbortOnConnectFail = false;
        options.BacklogPolicy = BacklogPolicy.FailFast;
        options.ClientName ??= "shockwave";
        return builder.AddBackplane(_ => new RedisBackplaneTransport(options), configure);
    }
}
