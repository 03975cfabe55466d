using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using static Shockwave.Docs.Tests.KubernetesDoc;

namespace Shockwave.Docs.Tests;

/// <summary>
/// The app of docs/kubernetes.md, configured from its manifest's environment: the settings bind to real options, the
/// library accepts the budget at start, and the probes answer as the page says before and during a drain.
/// </summary>
public sealed class DocumentedSetupTests
{
    [Fact]
    public void ManifestEnvironment_BindsToWibeSocketOptionsWithNoUnknownKey()
    {
        var container = ChatContainer(LoadManifests());
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(EnvAsConfiguration(container)).Build();

        // A misspelt key (WibeSocket__Drain__Windw) would otherwise be ignored in silence.
        var options = configuration.GetSection("WibeSocket").Get<WibeSocketOptions>(o => o.ErrorOnUnknownConfiguration = true);

        Assert.NotNull(options);
        Assert.Equal(EnvTimeSpan(container, "WibeSocket__Drain__Window"), options.Drain.Window);
        Assert.Equal(EnvTimeSpan(container, "WibeSocket__CloseTimeout") ?? new WibeSocketOptions().CloseTimeout, options.CloseTimeout);
    }

    [Fact]
    public async Task DocumentedApp_Starts_AndReadinessFailsWhileDrainingButLivenessHolds()
    {
        await using var app = Build(HostShutdownTimeout());
        await app.StartAsync();
        using var http = new HttpClient { BaseAddress = new Uri(app.Services.GetRequiredService<IServer>().Features.GetRequiredFeature<IServerAddressesFeature>().Addresses.Single()) };

        Assert.Equal(HttpStatusCode.OK, (await http.GetAsync("/health/ready")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await http.GetAsync("/health/live")).StatusCode);

        await app.Services.GetRequiredService<IWibeSocketDrain>().DrainAsync();

        Assert.Equal(HttpStatusCode.ServiceUnavailable, (await http.GetAsync("/health/ready")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await http.GetAsync("/health/live")).StatusCode);
        await app.StopAsync();
    }

    [Fact]
    public async Task ShutdownTimeoutShorterThanTheDrain_IsRefusedAtStart()
    {
        // The check the page relies on is live: one second short of window + close timeout does not start.
        var container = ChatContainer(LoadManifests());
        var needed = EnvTimeSpan(container, "WibeSocket__Drain__Window")!.Value + (EnvTimeSpan(container, "WibeSocket__CloseTimeout") ?? new WibeSocketOptions().CloseTimeout);
        await using var app = Build(needed - TimeSpan.FromSeconds(1));

        await Assert.ThrowsAsync<OptionsValidationException>(() => app.StartAsync());
    }

    /// <summary>The page's Program.cs (health checks, host timeout), configured from the manifest, on a loopback port.</summary>
    private static WebApplication Build(TimeSpan shutdownTimeout)
    {
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { ContentRootPath = AppContext.BaseDirectory });
        builder.Logging.ClearProviders();
        builder.Configuration.AddInMemoryCollection(EnvAsConfiguration(ChatContainer(LoadManifests())).Where(e => e.Key != "ASPNETCORE_URLS"));
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Services.AddWibeSocket();
        builder.Services.AddHealthChecks().AddWibeSocket();
        builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = shutdownTimeout);

        var app = builder.Build();
        app.MapHealthChecks("/health/ready", new HealthCheckOptions { Predicate = r => r.Tags.Contains("ready") });
        app.MapHealthChecks("/health/live", new HealthCheckOptions { Predicate = r => r.Tags.Contains("live") });
        return app;
    }
}
