using System.Net;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Shockwave.Tests.Shared;

namespace Shockwave.Conformance.Tests;

/// <summary>
/// The conformance target, <c>samples/Echo</c>'s own <c>Program</c>, started in-process on a real Kestrel listening on
/// 127.0.0.1 at an ephemeral port (not <c>TestServer</c>: the cases need real TCP segmentation and real socket closes).
/// </summary>
internal sealed class ConformanceServer : WebApplicationFactory<Program>
{
    private ConformanceServer()
    {
        UseKestrel(kestrel => kestrel.Listen(IPAddress.Loopback, 0));
    }

    public IPEndPoint EndPoint { get; private set; } = null!;

    public string Authority => $"127.0.0.1:{EndPoint.Port}";

    public static ConformanceServer Start()
    {
        var server = new ConformanceServer();
        server.StartServer();
        var address = server.Services.GetRequiredService<IServer>().Features.GetRequiredFeature<IServerAddressesFeature>().Addresses.Single();
        server.EndPoint = IPEndPoint.Parse(new Uri(address).Authority);
        return server;
    }

    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        // The sample logs nothing per message; a suite that fails connections on purpose would still fill the output with
        // expected protocol warnings, so the run keeps errors only.
        builder.ConfigureLogging(logging => logging.SetMinimumLevel(LogLevel.Error));
        TestTransport.Apply(builder);
    }
}
