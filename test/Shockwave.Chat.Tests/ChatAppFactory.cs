using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.Extensions.DependencyInjection;

namespace Shockwave.Chat.Tests;

/// <summary>
/// samples/Chat itself (its <c>Program</c>, content root and wwwroot) on a real Kestrel at 127.0.0.1, in the Production
/// environment, on an ephemeral port or a given one (a restart on the same address). The only test setting is a
/// 1-second drain window, so a graceful stop takes a second instead of twenty.
/// </summary>
public sealed class ChatAppFactory : WebApplicationFactory<Program>
{
    /// <summary>The header a test's own protocol client sends to pass <see cref="UpgradeGate"/>.</summary>
    public const string TestClientHeader = "X-Chat-Test-Client";

    private readonly UpgradeGate? _gate;
    private readonly IReadOnlyDictionary<string, string>? _settings;
    private readonly Action<IServiceCollection>? _services;

    public ChatAppFactory(int port = 0, UpgradeGate? gate = null, IReadOnlyDictionary<string, string>? settings = null, Action<IServiceCollection>? services = null)
    {
        _gate = gate;
        _settings = settings;
        _services = services;
        UseKestrel(kestrel => kestrel.Listen(IPAddress.Loopback, port));
    }

    /// <summary>The server's http address, set by <see cref="Start"/>.</summary>
    public Uri BaseUri { get; private set; } = null!;

    public int Port => BaseUri.Port;

    public ChatAppFactory Start()
    {
        StartServer();
        string address = Services.GetRequiredService<IServer>().Features.GetRequiredFeature<IServerAddressesFeature>().Addresses.Single();
        BaseUri = new Uri(address);
        return this;
    }

    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        builder.UseEnvironment("Production");
        builder.UseSetting("WibeSocket:Drain:Window", "00:00:01");
        builder.UseSetting("Logging:LogLevel:Default", "Warning");
        foreach (var (key, value) in _settings ?? new Dictionary<string, string>())
        {
            builder.UseSetting(key, value);
        }

        if (_services is { } configure)
        {
            builder.ConfigureServices(configure);
        }

        if (_gate is { } gate)
        {
            builder.ConfigureServices(services => services.AddSingleton<IStartupFilter>(new UpgradeGateFilter(gate)));
        }
    }

    private sealed class UpgradeGateFilter(UpgradeGate gate) : IStartupFilter
    {
        public Action<IApplicationBuilder> Configure(Action<IApplicationBuilder> next) => app =>
        {
            app.Use(async (context, nextMiddleware) =>
            {
                if (gate.IsClosed && context.Request.Path == "/chat" && !context.Request.Headers.ContainsKey(TestClientHeader))
                {
                    context.Response.StatusCode = StatusCodes.Status503ServiceUnavailable;
                    return;
                }

                await nextMiddleware(context);
            });
            next(app);
        };
    }
}

/// <summary>
/// Holds browsers' upgrades to <c>/chat</c> at 503 while closed, so a test can send "meanwhile" messages on a restarted
/// node before the page is let back in, whatever its backoff draws.
/// </summary>
public sealed class UpgradeGate
{
    private volatile bool _closed = true;

    public bool IsClosed => _closed;

    public void Open() => _closed = false;
}

/// <summary>One server shared by the tests of a class.</summary>
public sealed class ChatServer : IAsyncLifetime
{
    public ChatAppFactory App { get; private set; } = null!;

    public Uri BaseUri => App.BaseUri;

    public Task InitializeAsync()
    {
        App = new ChatAppFactory().Start();
        return Task.CompletedTask;
    }

    public async Task DisposeAsync() => await App.DisposeAsync();
}
