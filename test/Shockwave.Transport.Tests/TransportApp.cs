using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Routing;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Shockwave.Transport;

namespace Shockwave.Transport.Tests;

/// <summary>A real Kestrel on 127.0.0.1:0 served through the Shockwave transport, with its buffer pool in reach.</summary>
internal sealed class TransportApp : IAsyncDisposable
{
    private readonly WebApplication _app;

    private TransportApp(WebApplication app, Uri baseUri)
    {
        _app = app;
        BaseUri = baseUri;
        Pool = app.Services.GetServices<IConnectionListenerFactory>().OfType<ShockwaveTransportFactory>().Single().Pool;
    }

    public Uri BaseUri { get; }

    public int Port => BaseUri.Port;

    public BlockMemoryPool Pool { get; }

    public IServiceProvider Services => _app.Services;

    public Uri WebSocketUri(string path) => new UriBuilder(BaseUri) { Scheme = "ws", Path = path }.Uri;

    public static async Task<TransportApp> StartAsync(
        Action<WebApplication> endpoints,
        Action<ListenOptions>? listen = null,
        Action<ShockwaveTransportOptions>? transport = null,
        Action<WibeSocketOptions>? wibeSocket = null)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = TimeSpan.FromSeconds(2));
        builder.WebHost.UseShockwaveTransport(transport);
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            kestrel.Limits.MaxConcurrentConnections = null;
            kestrel.Limits.MaxConcurrentUpgradedConnections = null;
            kestrel.Listen(IPAddress.Loopback, 0, options => listen?.Invoke(options));
        });
        builder.Services.AddWibeSocket(options =>
        {
            options.Drain.Enabled = false;
            wibeSocket?.Invoke(options);
        });

        var app = builder.Build();
        endpoints(app);
        await app.StartAsync().WaitAsync(TimeSpan.FromSeconds(30));
        var address = app.Services.GetRequiredService<IServer>().Features.GetRequiredFeature<IServerAddressesFeature>().Addresses.Single();
        return new TransportApp(app, new Uri(address.TrimEnd('/') + "/"));
    }

    /// <summary>Waits until no connection holds a block: every buffer rented for the run has come back.</summary>
    public async Task AssertPoolDrainedAsync(TimeSpan? timeout = null)
    {
        var deadline = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(20));
        while (Pool.RentedBlocks != 0 && DateTime.UtcNow < deadline)
        {
            await Task.Delay(20);
        }

        Assert.True(Pool.RentedBlocks == 0, $"{Pool.RentedBlocks} buffer blocks ({Pool.RentedBytes} bytes) still rented");
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
