using Microsoft.AspNetCore.DataProtection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using OpenTelemetry.Metrics;
using OpenTelemetry.Trace;

namespace Shockwave.Samples.Chat;

/// <summary>The chat's services: state (history and presence, on one node or across nodes on Redis) and, when configured, OpenTelemetry export.</summary>
public static class ChatServiceCollectionExtensions
{
    /// <summary>The configuration key of the Redis key and channel prefix: <c>Chat:RedisPrefix</c> ("chat" by default).</summary>
    public const string RedisPrefixKey = "Chat:RedisPrefix";

    /// <summary>The configuration key of a shared Data Protection key directory: <c>DataProtection:KeysPath</c>.</summary>
    public const string KeysPathKey = "DataProtection:KeysPath";

    /// <summary>
    /// Registers the chat's state. With no configuration it is one node's: in-memory history and presence, and the
    /// library's in-process delivery. With <c>ConnectionStrings:Redis</c> set, every node on that Redis is one chat:
    /// the library's Redis backplane carries the sends, and history (a Redis list per room) and presence (a Redis hash
    /// per room) are shared. With <c>DataProtection:KeysPath</c> set, the cookie keys live in that directory, so a
    /// sign-in cookie issued by one node is accepted by every node that shares it.
    /// </summary>
    public static IWibeSocketBuilder AddChat(this IWibeSocketBuilder wibeSocket, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(wibeSocket);
        ArgumentNullException.ThrowIfNull(configuration);
        var services = wibeSocket.Services;
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton<ChatMetrics>();

        if (configuration[KeysPathKey] is { Length: > 0 } keysPath)
        {
            services.AddDataProtection()
                .PersistKeysToFileSystem(new DirectoryInfo(keysPath))
                .SetApplicationName("Shockwave.Samples.Chat");
        }

        if (configuration.GetConnectionString("Redis") is { Length: > 0 } redis)
        {
            string prefix = configuration[RedisPrefixKey] is { Length: > 0 } configured ? configured : "chat";
            wibeSocket.AddRedisBackplane(redis, options => options.ChannelPrefix = prefix);
            services.TryAddSingleton(sp => new ChatRedis(redis, prefix, sp.GetRequiredService<ILogger<ChatRedis>>()));
            services.TryAddSingleton<IChatHistory, RedisChatHistory>();
            services.TryAddSingleton<RedisChatPresence>();
            services.TryAddSingleton<IChatPresence>(sp => sp.GetRequiredService<RedisChatPresence>());
            services.AddHostedService<ChatNodeRenewal>();
        }

        services.TryAddSingleton<IChatHistory, InMemoryChatHistory>();
        services.TryAddSingleton<IChatPresence, InMemoryChatPresence>();
        return wibeSocket;
    }

    /// <summary>
    /// OpenTelemetry export of the library's and the chat's metrics and traces, off unless configured:
    /// <c>Telemetry:Exporter</c> = <c>console</c> or <c>otlp</c>, or the standard <c>OTEL_EXPORTER_OTLP_ENDPOINT</c>
    /// (which selects OTLP).
    /// </summary>
    public static IServiceCollection AddChatTelemetry(this IServiceCollection services, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        string? exporter = configuration["Telemetry:Exporter"];
        if (string.IsNullOrEmpty(exporter) && !string.IsNullOrEmpty(configuration["OTEL_EXPORTER_OTLP_ENDPOINT"]))
        {
            exporter = "otlp";
        }

        bool console = string.Equals(exporter, "console", StringComparison.OrdinalIgnoreCase);
        bool otlp = string.Equals(exporter, "otlp", StringComparison.OrdinalIgnoreCase);
        if (!console && !otlp)
        {
            if (!string.IsNullOrEmpty(exporter))
            {
                throw new InvalidOperationException($"Telemetry:Exporter is '{exporter}'; expected 'console' or 'otlp'.");
            }

            return services;
        }

        services.AddOpenTelemetry()
            .WithMetrics(metrics =>
            {
                metrics
                    .AddMeter("Shockwave", ChatMetrics.MeterName, "Microsoft.AspNetCore.Hosting", "Microsoft.AspNetCore.Server.Kestrel")
                    // The SDK's default buckets end under three hours in seconds; chat connections live longer.
                    .AddView("shockwave.connection.duration", new ExplicitBucketHistogramConfiguration
                    {
                        Boundaries = [1, 10, 60, 300, 900, 3600, 4 * 3600, 12 * 3600, 24 * 3600],
                    });
                if (console)
                {
                    metrics.AddConsoleExporter();
                }
                else
                {
                    metrics.AddOtlpExporter();
                }
            })
            .WithTracing(tracing =>
            {
                tracing.AddSource("Shockwave");
                if (console)
                {
                    tracing.AddConsoleExporter();
                }
                else
                {
                    tracing.AddOtlpExporter();
                }
            });
        return services;
    }
}
