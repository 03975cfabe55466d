using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Routing;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Shockwave.Testing;

namespace Shockwave.Middleware.Tests.Support;

/// <summary>
/// The same app as <see cref="KestrelApp"/> builds, on TestServer: connections go through the whole pipeline over an
/// in-memory duplex pipe with Shockwave.Testing's client.
/// </summary>
internal sealed class TestServerApp : IAsyncDisposable
{
    private readonly WebApplication _app;

    private TestServerApp(WebApplication app, TestLoggerProvider logs)
    {
        _app = app;
        Logs = logs;
    }

    public TestLoggerProvider Logs { get; }

    public IServiceProvider Services => _app.Services;

    public TestServer Server => (TestServer)_app.Services.GetRequiredService<IServer>();

    public WibeSocketTestClient CreateClient() => Server.CreateWibeSocketClient();

    public static async Task<TestServerApp> StartAsync(Action<IEndpointRouteBuilder> endpoints, TestAppOptions? options = null)
    {
        options ??= new TestAppOptions();
        var logs = new TestLoggerProvider();
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { ContentRootPath = AppContext.BaseDirectory });
        builder.WebHost.UseTestServer();
        builder.Logging.ClearProviders();
        builder.Logging.AddProvider(logs);
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        builder.Logging.AddFilter(TestLoggerProvider.WibeSocketCategory, LogLevel.Debug);
        if (options.TimeProvider is not null)
        {
            builder.Services.AddSingleton(options.TimeProvider);
        }

        // Fixtures stop at once, as before the drain existed; the drain tests turn it on.
        builder.Services.Configure<WibeSocketOptions>(o => o.Drain.Enabled = false);
        builder.Services.AddWibeSocket(options.WibeSocket);
        options.Services?.Invoke(builder.Services);

        var app = builder.Build();
        options.Pipeline?.Invoke(app);
        endpoints(app);
        try
        {
            await app.StartAsync().WaitAsync(Eventually.DefaultTimeout);
        }
        catch
        {
            await app.DisposeAsync();
            throw;
        }

        return new TestServerApp(app, logs);
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
        }
    }
}
