using System.Diagnostics.Metrics;
using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Routing;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

using Shockwave.Tests.Shared;

namespace Shockwave.Middleware.Tests.Support;

/// <summary>What a <see cref="KestrelApp"/> or a <see cref="TestServerApp"/> is built with; every part is optional.</summary>
internal sealed class TestAppOptions
{
    /// <summary>Server-wide WibeSocket options (AddWibeSocket's configure).</summary>
    public Action<WibeSocketOptions>? WibeSocket { get; init; }

    /// <summary>Registered before AddWibeSocket, so its TryAddSingleton keeps it.</summary>
    public TimeProvider? TimeProvider { get; init; }

    /// <summary>The 127.0.0.1:0 listener (TLS, protocols); Kestrel only.</summary>
    public Action<ListenOptions>? Listen { get; init; }

    /// <summary>Kestrel-wide settings (limits); Kestrel only.</summary>
    public Action<KestrelServerOptions>? Kestrel { get; init; }

    public Action<IServiceCollection>? Services { get; init; }

    /// <summary>Middleware added before the endpoints (authentication, authorization).</summary>
    public Action<WebApplication>? Pipeline { get; init; }
}

/// <summary>
/// A real Kestrel on 127.0.0.1 with an ephemeral port, the given endpoints and WibeSocket options, and every log line
/// captured (Shockwave's at Debug, everything else from Warning) for assertions.
/// </summary>
internal sealed class KestrelApp : IAsyncDisposable
{
    private readonly WebApplication _app;

    private KestrelApp(WebApplication app, Uri baseUri, TestLoggerProvider logs, MetricCapture metrics)
    {
        _app = app;
        BaseUri = baseUri;
        Logs = logs;
        Metrics = metrics;
    }

    /// <summary>http://127.0.0.1:port/ (https:// with TLS).</summary>
    public Uri BaseUri { get; }

    public int Port => BaseUri.Port;

    public TestLoggerProvider Logs { get; }

    public MetricCapture Metrics { get; }

    public IServiceProvider Services => _app.Services;

    /// <summary>The ws:// (or wss://) URI of <paramref name="path"/>.</summary>
    public Uri WebSocketUri(string path) =>
        new UriBuilder(BaseUri) { Scheme = BaseUri.Scheme == "https" ? "wss" : "ws", Path = path }.Uri;

    public static async Task<KestrelApp> StartAsync(Action<IEndpointRouteBuilder> endpoints, TestAppOptions? options = null)
    {
        options ??= new TestAppOptions();
        var logs = new TestLoggerProvider();
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { ContentRootPath = AppContext.BaseDirectory });
        builder.Logging.ClearProviders();
        builder.Logging.AddProvider(logs);
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        builder.Logging.AddFilter(TestLoggerProvider.WibeSocketCategory, LogLevel.Debug);
        builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = TimeSpan.FromSeconds(2));
        TestTransport.Apply(builder.WebHost);
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            kestrel.Listen(IPAddress.Loopback, 0, listen => options.Listen?.Invoke(listen));
            options.Kestrel?.Invoke(kestrel);
        });

        if (options.TimeProvider is not null)
        {
            builder.Services.AddSingleton(options.TimeProvider);
        }

        // Fixtures stop at once, as before the drain existed; the drain tests turn it on.
        builder.Services.Configure<WibeSocketOptions>(o => o.Drain.Enabled = false);
        builder.Services.AddWibeSocket(options.WibeSocket);
        options.Services?.Invoke(builder.Services);

        var app = builder.Build();
        var metrics = new MetricCapture(app.Services.GetRequiredService<IMeterFactory>());
        options.Pipeline?.Invoke(app);
        endpoints(app);
        try
        {
            await app.StartAsync().WaitAsync(Eventually.DefaultTimeout);
        }
        catch
        {
            metrics.Dispose();
            await app.DisposeAsync();
            throw;
        }

        var address = app.Services.GetRequiredService<IServer>().Features.GetRequiredFeature<IServerAddressesFeature>().Addresses.Single();
        return new KestrelApp(app, new Uri(address.EndsWith('/') ? address : address + "/"), logs, metrics);
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            await _app.StopAsync().WaitAsync(TimeSpan.FromSeconds(10));
        }
        finally
        {
            await _app.DisposeAsync();
            Metrics.Dispose();
        }
    }
}
