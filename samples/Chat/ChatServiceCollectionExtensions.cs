using Microsoft.Extensions.DependencyInjection.Extensions;
using OpenTelemetry.Metrics;
using OpenTelemetry.Trace;

namespace Shockwave.Samples.Chat;

/// <summary>The chat's services: state (history and presence) and, when configured, OpenTelemetry export.</summary>
public static class ChatServiceCollectionExtensions
{
    /// <summary>
    /// Registers the chat's state. With no configuration it is one node's: in-memory history and presence, and the
    /// library's in-process delivery. Scale-out (a backplane for the sends, a shared <see cref="IChatHistory"/> and
    /// <see cref="IChatPresence"/>) is registered here, from configuration, so <c>Program.cs</c> does not change.
    /// </summary>
    public static IServiceCollection AddChat(this IServiceCollection services, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);

        // Scale-out goes here: with a Redis connection string, the library's Redis backplane and Redis-backed
        // IChatHistory and IChatPresence. Until they exist, a configured Redis fails the start instead of silently
        // running as one node whose history and presence other nodes would not see.
        if (!string.IsNullOrEmpty(configuration.GetConnectionString("Redis")))
        {
            throw new InvalidOperationException("ConnectionStrings:Redis is set, but this chat sample has no Redis scale-out yet: it runs on one node only. Remove the setting.");
        }

        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton<ChatMetrics>();
        services.TryAddSingleton<IChatHistory, InMemoryChatHistory>();
        services.TryAddSingleton<IChatPresence, InMemoryChatPresence>();
        return services;
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
