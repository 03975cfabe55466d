using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Shockwave.Middleware.Tests.Listener;

/// <summary>
/// The raw listener has no HTTP pipeline, so nothing there could authenticate, authorize or rate-limit. The rule: an
/// endpoint that asks for any of that is answered 403 on the raw listener (and named in a startup warning), never
/// served; the HTTP listener keeps serving it with its middleware.
/// </summary>
public class RawListenerFailClosedTests
{
    public static TheoryData<string> Conventions() => ["RequireAuthorization()", "RequireAuthorization(policy)", "[Authorize] metadata", "[Authorize] on the hub type", "RequireRateLimiting"];

    [Theory]
    [MemberData(nameof(Conventions))]
    public async Task ProtectedEndpoint_Gets403WhileOthersAreServed(string convention)
    {
        await using var host = await ListenerHost.StartAsync(app =>
        {
            app.MapWibeSocket("/echo", ListenerHost.EchoAsync);
            switch (convention)
            {
                case "RequireAuthorization()":
                    app.MapWibeSocket("/secure", ListenerHost.EchoAsync).RequireAuthorization();
                    break;
                case "RequireAuthorization(policy)":
                    app.MapWibeSocket("/secure", ListenerHost.EchoAsync).RequireAuthorization(new AuthorizationPolicyBuilder().RequireClaim("role", "admin").Build());
                    break;
                case "[Authorize] metadata":
                    app.MapWibeSocket("/secure", ListenerHost.EchoAsync).WithMetadata(new AuthorizeAttribute("admins"));
                    break;
                case "[Authorize] on the hub type":
                    app.MapWibeSocket<AuthorizedHub>("/secure");
                    break;
                default:
                    app.MapWibeSocket("/secure", ListenerHost.EchoAsync).RequireRateLimiting("per-user");
                    break;
            }
        });

        await using var client = await host.ConnectRawAsync();
        await client.SendAsync(ListenerClient.UpgradeRequest("/secure"));
        var head = await client.ReadResponseHeadAsync();
        Assert.Equal(403, head.StatusCode);
        Assert.Equal("close", head.Headers.GetFirstValue("Connection"));
        Assert.Empty(await client.ReadToEndAsync());

        // The refusal is per endpoint: the unprotected one on the same listener works.
        await using var echo = await host.OpenAsync();

        // Reported at startup, when Kestrel bound the listener, before any client came.
        var warning = Assert.Single(host.Logs.Entries, e => e.EventId.Id == 204);
        Assert.Equal(LogLevel.Warning, warning.Level);
        Assert.Contains("'/secure'", warning.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task FallbackPolicy_Refuses_UnlessAllowAnonymous()
    {
        // With a fallback policy, AuthorizationMiddleware would demand a user on every endpoint without metadata.
        await using var host = await ListenerHost.StartAsync(
            app =>
            {
                app.MapWibeSocket("/echo", ListenerHost.EchoAsync);
                app.MapWibeSocket("/public", ListenerHost.EchoAsync).AllowAnonymous();
            },
            services: services => services.AddAuthorization(o => o.FallbackPolicy = new AuthorizationPolicyBuilder().RequireAuthenticatedUser().Build()));

        await using var client = await host.ConnectRawAsync();
        await client.SendAsync(ListenerClient.UpgradeRequest("/echo"));
        Assert.Equal(403, (await client.ReadResponseHeadAsync()).StatusCode);

        await using var open = await host.OpenAsync("/public");
        await open.SendAsync(ListenerClient.TextFrame("anonymous is fine here"));
        Assert.Equal("anonymous is fine here", (await open.ReceiveAsync()).Text);
    }

    [Fact]
    public async Task WithoutAddWibeSocket_StartupFails()
    {
        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => ListenerHost.StartAsync(_ => { }, addWibeSocket: false));
        Assert.Contains("AddWibeSocket()", error.Message, StringComparison.Ordinal);
    }

    [Authorize]
    private sealed class AuthorizedHub : WibeSocketHub
    {
    }
}
