using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Shockwave.Middleware.Tests.Support;
using Shockwave.Protocol;

namespace Shockwave.Middleware.Tests.Integration;

/// <summary>
/// One app with an open echo endpoint, one that requires authorization, one with an origin allow-list and one with
/// subprotocols. Routes take an id so every test's log lines can be told apart.
/// </summary>
public sealed class UpgradeValidationServer : IAsyncLifetime
{
    internal KestrelApp App { get; private set; } = null!;

    public async Task InitializeAsync() => App = await KestrelApp.StartAsync(
        e =>
        {
            e.MapWibeSocket("/open/{id}", Handlers.EchoAsync);
            e.MapWibeSocket("/auth/{id}", SendUserThenEchoAsync).RequireAuthorization();
            e.MapWibeSocket("/allow/{id}", Handlers.EchoAsync, o => o.AllowedOrigins.Add("https://good.example"));
            e.MapWibeSocket("/sub/{id}", SendSubProtocolThenEchoAsync, o =>
            {
                o.SubProtocols.Add("v2.chat");
                o.SubProtocols.Add("v1.chat");
            });
        },
        new TestAppOptions
        {
            Services = services => services
                .AddAuthorization()
                .AddAuthentication(TestAuthHandler.SchemeName)
                .AddScheme<AuthenticationSchemeOptions, TestAuthHandler>(TestAuthHandler.SchemeName, null),
            Pipeline = app =>
            {
                app.UseAuthentication();
                app.UseAuthorization();
            },
        });

    public async Task DisposeAsync() => await App.DisposeAsync();

    private static async Task SendUserThenEchoAsync(WibeSocket socket, CancellationToken ct)
    {
        await socket.SendTextAsync("user=" + socket.User.Identity?.Name, ct);
        await Handlers.EchoAsync(socket, ct);
    }

    private static async Task SendSubProtocolThenEchoAsync(WibeSocket socket, CancellationToken ct)
    {
        await socket.SendTextAsync("subprotocol=" + (socket.SubProtocol ?? "(none)"), ct);
        await Handlers.EchoAsync(socket, ct);
    }
}

/// <summary>
/// The opening handshake over raw sockets (RFC 6455 section 4.2): every refusal has the right status and headers,
/// a debug log line and a metric with its reason, no error logged, and no upgrade.
/// </summary>
public sealed class UpgradeValidationTests(UpgradeValidationServer server) : IClassFixture<UpgradeValidationServer>
{
    private const int HandshakeRejected = 100;
    private const string RejectionMetric = "shockwave.handshake.rejections";

    private KestrelApp App => server.App;

    // R6455-4.2.1-a5: no key.
    [Fact]
    public Task MissingKey_Is400() => AssertRejectedAsync(400, "MissingKey", headers: [("Sec-WebSocket-Key", null)]);

    // R6455-4.2.1-a5: a key that is not base64, or base64 of 15 or 17 bytes.
    [Theory]
    [InlineData("not base64!")]
    [InlineData("AAAAAAAAAAAAAAAAAAAA")]
    [InlineData("AAAAAAAAAAAAAAAAAAAAAAA=")]
    public Task BadKey_Is400(string key) => AssertRejectedAsync(400, "InvalidKey", headers: [("Sec-WebSocket-Key", key)]);

    // R6455-11.3-a: the key header at most once.
    [Fact]
    public Task DuplicateKey_Is400() => AssertRejectedAsync(400, "DuplicateKey", headers:
        [("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ=="), ("Sec-WebSocket-Key", "AQIDBAUGBwgJCgsMDQ4PEA==")]);

    // R6455-4.2.2-d, R6455-4.4-a: an unsupported version gets 426 listing the version the server speaks.
    [Theory]
    [InlineData("8")]
    [InlineData("25")]
    public async Task UnsupportedVersion_Is426WithSupportedVersion(string version)
    {
        var response = await AssertRejectedAsync(426, "UnsupportedVersion", headers: [("Sec-WebSocket-Version", version)]);
        Assert.Equal("13", response.Header("Sec-WebSocket-Version"));
    }

    // R6455-4.2.1-a6: no version at all is a bad request, not a version mismatch.
    [Fact]
    public Task MissingVersion_Is400() => AssertRejectedAsync(400, "MissingVersion", headers: [("Sec-WebSocket-Version", null)]);

    // R6455-4.2.1-a1: the method must be GET.
    [Fact]
    public async Task Post_Is405WithAllowGet()
    {
        var response = await AssertRejectedAsync(405, "MethodNotGet", method: "POST", headers: [("Content-Length", "0")]);
        Assert.Equal("GET", response.Header("Allow"));
    }

    // R6455-4.2.1-a1: HTTP/1.0 cannot upgrade.
    [Fact]
    public async Task Http10_Is400()
    {
        string path = NewPath("open");
        string request = RawWebSocketClient.BuildRequest(App.Port, path).Replace("HTTP/1.1\r\n", "HTTP/1.0\r\n", StringComparison.Ordinal);
        await AssertRejectedCoreAsync(path, request, 400, "HttpVersionTooLow");
    }

    // R6455-4.2.1-a3: Upgrade must name websocket.
    [Fact]
    public Task UpgradeNotWebSocket_Is400() => AssertRejectedAsync(400, "MissingUpgradeWebSocket", headers: [("Upgrade", "h2c")]);

    // R6455-4.2.1-a4: Connection must carry the upgrade token.
    [Fact]
    public Task ConnectionWithoutUpgrade_Is400() => AssertRejectedAsync(400, "MissingConnectionUpgrade", headers: [("Connection", "keep-alive")]);

    // A plain request to a WebSocket-only endpoint is told what it takes (RFC 9110 section 15.5.22).
    [Fact]
    public async Task PlainGet_Is426WithUpgradeWebSocket()
    {
        var response = await AssertRejectedAsync(426, "NotAWebSocketRequest", headers:
            [("Upgrade", null), ("Connection", null), ("Sec-WebSocket-Key", null), ("Sec-WebSocket-Version", null)]);
        Assert.Equal("websocket", response.Header("Upgrade"));
    }

    // R6455-4.2.2-e: no endpoint, no upgrade.
    [Fact]
    public async Task UnknownPath_Is404()
    {
        await using var client = await RawWebSocketClient.OpenAsync(App.Port);
        var response = await client.SendRequestAsync(RawWebSocketClient.BuildRequest(App.Port, "/nothing-here"));
        Assert.Equal(404, response.StatusCode);
    }

    // R6455-4.2.1-a3/a4, R6455-4.2.2-j1..j4: tokens are compared ignoring case and found inside lists; the 101 carries
    // Upgrade, Connection and the accept key, and no extension nobody offered (R6455-4.2.2-i).
    [Fact]
    public async Task TokensInListsAndAnyCase_AreAccepted()
    {
        string path = NewPath("open");
        await using var client = await RawWebSocketClient.ConnectAsync(App.Port, path, ("Upgrade", "WebSocket"), ("Connection", "keep-alive, UPGRADE"));
        var response = client.Handshake!;

        Assert.Equal("websocket", response.Header("Upgrade"), ignoreCase: true);
        Assert.Contains("upgrade", response.Header("Connection")!, StringComparison.OrdinalIgnoreCase);
        Assert.Single(response.All("Sec-WebSocket-Accept"));
        Assert.Null(response.Header("Sec-WebSocket-Extensions"));
        Assert.Null(response.Header("Sec-WebSocket-Protocol"));
        await AssertEchoesAsync(client);
    }

    // Without a user, RequireAuthorization challenges before any upgrade.
    [Fact]
    public async Task AuthorizedEndpoint_WithoutUser_Is401()
    {
        await using var client = await RawWebSocketClient.OpenAsync(App.Port);
        var response = await client.SendRequestAsync(RawWebSocketClient.BuildRequest(App.Port, NewPath("auth")));
        Assert.Equal(401, response.StatusCode);
        Assert.Null(response.Header("Sec-WebSocket-Accept"));
    }

    // R6455-4.2.2-c, R6455-10.2-S2: cross-site WebSocket hijacking: an authenticated endpoint with no allow-list
    // refuses a page from another origin, whose browser would have attached the user's cookies.
    [Fact]
    public Task AuthorizedEndpoint_CrossOrigin_Is403() => AssertRejectedAsync(403, "OriginNotAllowed", "auth", headers:
        [(TestAuthHandler.UserHeader, "alice"), ("Origin", "https://evil.example")]);

    // Same origin, or no Origin at all (not a browser, R6455-4.2.1-S1), is served with the user attached.
    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task AuthorizedEndpoint_SameOriginOrNoOrigin_IsAccepted(bool sendOrigin)
    {
        await using var client = await RawWebSocketClient.ConnectAsync(App.Port, NewPath("auth"),
            (TestAuthHandler.UserHeader, "alice"), ("Origin", sendOrigin ? $"http://127.0.0.1:{App.Port}" : null));

        Assert.Equal("user=alice", (await client.ReceiveFrameAsync()).Text);
        await AssertEchoesAsync(client);
    }

    // Without authorization and without a list, any origin may connect (the endpoint holds nothing to hijack).
    [Fact]
    public async Task OpenEndpoint_AnyOrigin_IsAccepted()
    {
        await using var client = await RawWebSocketClient.ConnectAsync(App.Port, NewPath("open"), ("Origin", "https://elsewhere.example"));
        await AssertEchoesAsync(client);
    }

    // R6455-10.2-S1/S2: the allow-list is enforced whatever the endpoint; the same origin is not implicitly allowed.
    [Theory]
    [InlineData("https://evil.example")]
    [InlineData("http://127.0.0.1")]
    public Task AllowList_OtherOrigin_Is403(string origin) => AssertRejectedAsync(403, "OriginNotAllowed", "allow", headers: [("Origin", origin)]);

    [Theory]
    [InlineData("https://good.example")]
    [InlineData("HTTPS://GOOD.EXAMPLE")]
    [InlineData(null)]
    public async Task AllowList_ListedOriginOrNone_IsAccepted(string? origin)
    {
        await using var client = await RawWebSocketClient.ConnectAsync(App.Port, NewPath("allow"), ("Origin", origin));
        await AssertEchoesAsync(client);
    }

    // R6455-4.2.2-f, R6455-11.3-e: the server's most preferred protocol among those offered, in one header; offers may
    // come in one list or several header lines.
    [Theory]
    [InlineData("v1.chat, v2.chat", null, "v2.chat")]
    [InlineData("v1.chat", null, "v1.chat")]
    [InlineData("other", "v1.chat", "v1.chat")]
    public async Task SubProtocol_ServerPreferenceAmongOffered(string offer, string? secondLine, string expected)
    {
        (string, string?)[] headers = secondLine is null
            ? [("Sec-WebSocket-Protocol", offer)]
            : [("Sec-WebSocket-Protocol", offer), ("Sec-WebSocket-Protocol", secondLine)];
        await using var client = await RawWebSocketClient.ConnectAsync(App.Port, NewPath("sub"), headers);

        Assert.Equal(expected, Assert.Single(client.Handshake!.All("Sec-WebSocket-Protocol")));
        Assert.Equal("subprotocol=" + expected, (await client.ReceiveFrameAsync()).Text);
    }

    // R6455-4.2.2-g: nothing in common: the connection opens and the response has no Sec-WebSocket-Protocol at all.
    [Fact]
    public async Task SubProtocol_NoneInCommon_HeaderAbsent()
    {
        await using var client = await RawWebSocketClient.ConnectAsync(App.Port, NewPath("sub"), ("Sec-WebSocket-Protocol", "mqtt, wamp"));

        Assert.Empty(client.Handshake!.All("Sec-WebSocket-Protocol"));
        Assert.Equal("subprotocol=(none)", (await client.ReceiveFrameAsync()).Text);
    }

    // The same through ClientWebSocket, which fails the connection on any header it did not ask for.
    [Fact]
    public async Task SubProtocol_ClientWebSocketSeesTheSelection()
    {
        using var socket = await ClientWebSocketExtensions.ConnectAsync(App.WebSocketUri(NewPath("sub")), options =>
        {
            options.AddSubProtocol("v1.chat");
            options.AddSubProtocol("v2.chat");
        });

        Assert.Equal("v2.chat", socket.SubProtocol);
        Assert.Equal("subprotocol=v2.chat", (await socket.ReceiveMessageAsync()).Text);
        await socket.CloseBoundedAsync();
    }

    private static string NewPath(string endpoint) => $"/{endpoint}/{Guid.NewGuid():N}";

    private Task<RawHttpResponse> AssertRejectedAsync(int status, string reason, string endpoint = "open", string method = "GET", params (string, string?)[] headers)
    {
        string path = NewPath(endpoint);
        return AssertRejectedCoreAsync(path, RawWebSocketClient.BuildRequest(App.Port, path, method, headers), status, reason);
    }

    private async Task<RawHttpResponse> AssertRejectedCoreAsync(string path, string request, int status, string reason)
    {
        int metricsBefore = CountRejections(reason, status);
        RawHttpResponse response;
        await using (var client = await RawWebSocketClient.OpenAsync(App.Port))
        {
            response = await client.SendRequestAsync(request);
        }

        // R6455-4.2.1-a: an HTTP error and no upgrade.
        Assert.Equal(status, response.StatusCode);
        Assert.Null(response.Header("Sec-WebSocket-Accept"));

        // The reason in a debug line and in the rejection metric; nothing logged as an error.
        var line = await App.Logs.WaitForAsync(r => r.EventId.Id == HandshakeRejected && r.Value("Path") == path);
        Assert.Equal(LogLevel.Debug, line.Level);
        Assert.Equal(status.ToString(), line.Value("StatusCode"));
        Assert.Equal(reason, line.Value("Reason"));
        await Eventually.TrueAsync(() => CountRejections(reason, status) == metricsBefore + 1, what: "the rejection metric");
        Assert.DoesNotContain(App.Logs.Records, r => r.Level >= LogLevel.Error);
        return response;
    }

    private int CountRejections(string reason, int status) => App.Metrics.Records(RejectionMetric)
        .Count(r => r.Tag("shockwave.rejection_reason") == reason && r.Tag("http.response.status_code") == status.ToString());

    private static async Task AssertEchoesAsync(RawWebSocketClient client)
    {
        await client.SendTextAsync("echo me");
        var echoed = await client.ReceiveFrameAsync();
        Assert.Equal(WebSocketOpcode.Text, echoed.Opcode);
        Assert.Equal("echo me", echoed.Text);
    }
}
