using System.Net;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Shockwave.Middleware.Tests.Support;

/// <summary>
/// The conformance target, samples/Echo, run unchanged on a real Kestrel bound to 127.0.0.1 (port 0) through
/// <see cref="WebApplicationFactory{TEntryPoint}"/>, with its log lines captured.
/// </summary>
public sealed class EchoSampleServer : IAsyncLifetime
{
    private WebApplicationFactory<Program>? _factory;

    internal TestLoggerProvider Logs { get; } = new();

    public Uri BaseUri { get; private set; } = null!;

    public int Port => BaseUri.Port;

    public Uri WebSocketUri(string path) => new UriBuilder(BaseUri) { Scheme = "ws", Path = path }.Uri;

    public Task InitializeAsync()
    {
        var factory = new WebApplicationFactory<Program>().WithWebHostBuilder(web => web.ConfigureLogging(logging =>
        {
            logging.ClearProviders();
            logging.AddProvider(Logs);
            logging.AddFilter<TestLoggerProvider>(TestLoggerProvider.WibeSocketCategory, LogLevel.Debug);
        }));
        factory.UseKestrel(kestrel => kestrel.Listen(IPAddress.Loopback, 0));
        factory.StartServer();
        _factory = factory;
        string address = factory.Services.GetRequiredService<IServer>().Features.GetRequiredFeature<IServerAddressesFeature>().Addresses.Single();
        BaseUri = new Uri(address);
        return Task.CompletedTask;
    }

    public async Task DisposeAsync()
    {
        if (_factory is not null)
        {
            await _factory.DisposeAsync();
        }
    }
}
