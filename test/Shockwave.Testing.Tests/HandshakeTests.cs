using System.Security.Claims;
using System.Text.Json;
using Microsoft.AspNetCore.TestHost;
using Shockwave.Protocol;
using Shockwave.Protocol.Handshake;

namespace Shockwave.Testing.Tests;

[Collection(TestAppCollection.Name)]
public class HandshakeTests(TestApp app)
{
    [Fact]
    public async Task Connect_SendsRfc6455OpeningHandshake()
    {
        var client = app.Server.CreateWibeSocketClient();
        await using var connection = await client.ConnectAsync("/inspect?x=1");

        var request = await ReadReportAsync(connection);
        Assert.Equal("GET", request["Method"]);
        Assert.Equal("HTTP/1.1", request["Protocol"]);
        Assert.Equal("http", request["Scheme"]);
        Assert.Equal("localhost", request["Host"]);
        Assert.Equal("/inspect", request["Path"]);
        Assert.Equal("?x=1", request["Query"]);
        Assert.True(HeaderTokens.ContainsToken(request["Connection"], "upgrade"));
        Assert.Equal("websocket", request["Upgrade"]);
        Assert.Equal("13", request["Version"]);
        Assert.True(WebSocketAccept.IsValidKey(request["Key"]));
        Assert.Equal(16, Convert.FromBase64String(request["Key"]!).Length);
        Assert.Null(request["Origin"]);
        Assert.Null(request["Protocols"]);
    }

    [Fact]
    public async Task Connect_UsesAFreshKeyEachTime()
    {
        var client = app.Server.CreateWibeSocketClient();
        await using var first = await client.ConnectAsync("/inspect");
        await using var second = await client.ConnectAsync("/inspect");

        Assert.NotEqual((await ReadReportAsync(first))["Key"], (await ReadReportAsync(second))["Key"]);
    }

    [Fact]
    public async Task Connect_VerifiesAndExposesThe101()
    {
        var client = app.Server.CreateWibeSocketClient();
        var result = await client.TryConnectAsync("/echo");
        await using var connection = result.Connection;

        Assert.True(result.IsSuccess, result.FailureReason);
        Assert.Equal(101, result.StatusCode);
        Assert.Equal("Switching Protocols", result.ReasonPhrase);
        Assert.Equal("websocket", result.Headers.Upgrade);
        Assert.Equal("Upgrade", result.Headers.Connection);
        Assert.Equal(WebSocketAccept.AcceptLength, result.Headers.SecWebSocketAccept.ToString().Length);
        Assert.Same(result.Headers, connection!.ResponseHeaders);
    }

    [Fact]
    public async Task Connect_SendsConfiguredHeadersOriginSubprotocolsExtensionsAndUser()
    {
        var client = app.Server.CreateWibeSocketClient();
        client.Origin = "https://app.example";
        client.SubProtocols.Add("chat.v2");
        client.SubProtocols.Add("chat.v1");
        client.Extensions = "permessage-deflate; client_max_window_bits";
        client.RequestHeaders["X-Custom"] = "custom-value";
        client.ConfigureRequest = context => context.User = new ClaimsPrincipal(new ClaimsIdentity([new Claim(ClaimTypes.Name, "alice")], "Test"));
        await using var connection = await client.ConnectAsync("/inspect");

        var request = await ReadReportAsync(connection);
        Assert.Equal("https://app.example", request["Origin"]);
        Assert.Equal("chat.v2, chat.v1", request["Protocols"]);
        Assert.Equal("permessage-deflate; client_max_window_bits", request["Extensions"]);
        Assert.Equal("custom-value", request["Custom"]);
        Assert.Equal("alice", request["User"]);
    }

    [Fact]
    public async Task Connect_AbsoluteWsUriMapsToHttpRequest()
    {
        var client = app.Server.CreateWibeSocketClient();
        await using var connection = await client.ConnectAsync(new Uri("wss://example.test:8443/inspect"));

        var request = await ReadReportAsync(connection);
        Assert.Equal("https", request["Scheme"]);
        Assert.Equal("example.test:8443", request["Host"]);
        Assert.Equal("/inspect", request["Path"]);
    }

    [Fact]
    public async Task TryConnect_RefusedHandshake_SurfacesStatusHeadersAndBody()
    {
        var client = app.Server.CreateWibeSocketClient();
        var result = await client.TryConnectAsync("/forbidden");

        Assert.False(result.IsSuccess);
        Assert.Null(result.Connection);
        Assert.Equal(403, result.StatusCode);
        Assert.Equal("origin", result.Headers["X-Reason"]);
        Assert.Equal("outer-middleware", result.Headers["X-Outer"]);
        Assert.Equal("no entry", result.BodyText);
        Assert.Contains("403", result.FailureReason);
    }

    [Fact]
    public async Task Connect_RefusedHandshake_ThrowsWithTheResponse()
    {
        var client = app.Server.CreateWibeSocketClient();
        var ex = await Assert.ThrowsAsync<WibeSocketHandshakeException>(() => client.ConnectAsync("/forbidden"));

        Assert.Equal(403, ex.StatusCode);
        Assert.Equal("no entry", ex.Result!.BodyText);
    }

    [Fact]
    public async Task Connect_OuterMiddlewareHeaderReachesThe101()
    {
        var client = app.Server.CreateWibeSocketClient();
        await using var connection = await client.ConnectAsync("/echo");

        Assert.Equal("outer-middleware", connection.ResponseHeaders["X-Outer"]);
    }

    [Fact]
    public async Task TryConnect_WrongAccept_FailsTheConnectionAndDropsIt()
    {
        var client = app.Server.CreateWibeSocketClient();
        string id = Guid.NewGuid().ToString();
        var result = await client.TryConnectAsync($"/bad-accept?id={id}");

        Assert.False(result.IsSuccess);
        Assert.Equal(101, result.StatusCode);
        Assert.Contains("Sec-WebSocket-Accept", result.FailureReason);

        // RFC 6455 section 4.1: the client fails the connection, which the app sees dropped.
        Assert.Equal("aborted", await app.Signal(id).Task.WaitAsync(TimeSpan.FromSeconds(5)));
    }

    [Fact]
    public async Task TryConnect_101WithoutUpgrade_Fails()
    {
        var client = app.Server.CreateWibeSocketClient();
        var result = await client.TryConnectAsync("/fake-101");

        Assert.False(result.IsSuccess);
        Assert.Contains("UpgradeAsync", result.FailureReason);
    }

    [Fact]
    public async Task Connect_SelectedSubprotocolIsExposed()
    {
        var client = app.Server.CreateWibeSocketClient();
        client.SubProtocols.Add("a");
        client.SubProtocols.Add("b");
        await using var connection = await client.ConnectAsync("/subprotocol");

        Assert.Equal("b", connection.SubProtocol);
    }

    [Fact]
    public async Task TryConnect_SubprotocolNotOffered_Fails()
    {
        var client = app.Server.CreateWibeSocketClient();
        client.SubProtocols.Add("a");
        var result = await client.TryConnectAsync("/subprotocol?pick=c");

        Assert.False(result.IsSuccess);
        Assert.Contains("'c'", result.FailureReason);
    }

    [Fact]
    public async Task TryConnect_ExtensionNotOffered_Fails()
    {
        var client = app.Server.CreateWibeSocketClient();
        var result = await client.TryConnectAsync("/server-frames?kind=rsv1");

        Assert.False(result.IsSuccess);
        Assert.Contains("permessage-deflate", result.FailureReason);
    }

    [Fact]
    public async Task Connect_WithoutConnectionUpgrade_IsNotUpgradableAsOnKestrel()
    {
        var client = app.Server.CreateWibeSocketClient();
        client.ConfigureRequest = context => context.Request.Headers.Remove("Connection");
        var result = await client.TryConnectAsync("/echo");

        Assert.Equal(426, result.StatusCode);
    }

    [Fact]
    public async Task RequestHeaders_OverrideHandshakeHeaders()
    {
        var client = app.Server.CreateWibeSocketClient();
        client.RequestHeaders["Sec-WebSocket-Version"] = "8";
        var result = await client.TryConnectAsync("/echo");

        Assert.Equal(400, result.StatusCode);
    }

    [Fact]
    public async Task TryConnect_AppThrowsBeforeAnswering_PropagatesTheException()
    {
        var client = app.Server.CreateWibeSocketClient();
        var ex = await Assert.ThrowsAsync<InvalidOperationException>(() => client.TryConnectAsync("/throw-before"));

        Assert.Equal("refused by throwing", ex.Message);
    }

    [Fact]
    public async Task Connect_AppNeverAnswers_TimesOutAndAbortsTheRequest()
    {
        var client = app.Server.CreateWibeSocketClient();
        client.Timeout = TimeSpan.FromMilliseconds(200);
        string id = Guid.NewGuid().ToString();

        var ex = await Assert.ThrowsAsync<TimeoutException>(() => client.ConnectAsync($"/hang?id={id}"));
        Assert.Contains("handshake", ex.Message);
        Assert.Equal("aborted", await app.Signal(id).Task.WaitAsync(TimeSpan.FromSeconds(5)));
    }

    [Fact]
    public async Task Connect_CancelledByCaller_ThrowsOperationCanceled()
    {
        var client = app.Server.CreateWibeSocketClient();
        using var cts = new CancellationTokenSource(TimeSpan.FromMilliseconds(100));
        string id = Guid.NewGuid().ToString();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => client.ConnectAsync($"/hang?id={id}", cts.Token));
        Assert.Equal("aborted", await app.Signal(id).Task.WaitAsync(TimeSpan.FromSeconds(5)));
    }

    private static async Task<Dictionary<string, string?>> ReadReportAsync(WibeSocketTestConnection connection)
    {
        var message = await connection.ReceiveAsync();
        Assert.Equal(WibeSocketMessageType.Text, message.Type);
        return JsonSerializer.Deserialize<Dictionary<string, string?>>(message.Text)!;
    }
}
