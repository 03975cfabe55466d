using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Shockwave.Testing.Tests;

public class WebApplicationFactoryTests
{
    [Fact]
    public async Task Factory_CreateWibeSocketClient_ConnectsThroughTheFactoryServer()
    {
        await using var factory = new EchoFactory();
        await using var connection = await factory.CreateWibeSocketClient().ConnectAsync("/echo");

        await connection.SendTextAsync("via the factory");
        Assert.Equal("via the factory", (await connection.ReceiveAsync()).Text);
    }

    // A factory over an app defined here rather than a Program class in another project.
    private sealed class EchoFactory : WebApplicationFactory<EchoFactory>
    {
        protected override IHostBuilder CreateHostBuilder()
        {
            // The factory looks for a content root beside a Program project, which this app does not have; this is the
            // setting it reads first (ASPNETCORE_TEST_CONTENTROOT_<ASSEMBLY>, through the web host's environment).
            Environment.SetEnvironmentVariable("ASPNETCORE_TEST_CONTENTROOT_SHOCKWAVE_TESTING_TESTS", AppContext.BaseDirectory);
            return new HostBuilder()
                .ConfigureLogging(logging => logging.ClearProviders())
                .ConfigureWebHost(web => web
                    .ConfigureServices(services => services.AddRouting())
                    .Configure(app =>
                    {
                        app.UseRouting();
                        app.UseEndpoints(endpoints => endpoints.Map("/echo", async context =>
                        {
                            await using var stream = await MiniWebSocketServer.AcceptAsync(context);
                            await MiniWebSocketServer.EchoAsync(stream!, context.RequestAborted);
                        }));
                    }));
        }
    }
}
