using Shockwave.Protocol;

namespace Shockwave.Client.Tests;

/// <summary>The client against Shockwave's own server on a real Kestrel: every size and kind of message, deflate, headers, closes both ways.</summary>
public sealed class OwnServerTests : IAsyncLifetime
{
    private EchoServer _server = null!;

    public async Task InitializeAsync() => _server = await EchoServer.StartAsync();

    public async Task DisposeAsync() => await _server.DisposeAsync();

    public static TheoryData<string, bool> Endpoints => new()
    {
        { EchoServer.Plain, false },
        { EchoServer.Plain, true },
        { EchoServer.Deflate, false },
        { EchoServer.Deflate, true },
    };

    [Theory]
    [MemberData(nameof(Endpoints))]
    public async Task EchoRoundTrip_EverySizeAndKind_ComesBackByteExact(string path, bool text)
    {
        var options = new WibeSocketClientOptions();
        options.Compression.Enabled = path == EchoServer.Deflate;
        await using var socket = await WibeSocketClient.ConnectAsync(_server.Url(path), options);
        Assert.Equal(path == EchoServer.Deflate, socket.Compression is not null);

        foreach (int size in Payloads.Sizes)
        {
            await RoundTrip.AssertEchoAsync(socket, Payloads.Create(size, text), text);
        }

        await socket.CloseAsync();
        Assert.Equal(WibeSocketState.Closed, socket.State);
        Assert.Equal(WebSocketCloseStatus.NormalClosure, socket.CloseStatus);
    }

    [Fact]
    public async Task Deflate_ClientWindowBitsOffered_ServerAnswerAcceptedAndMessagesFlow()
    {
        var options = new WibeSocketClientOptions();
        options.Compression.Enabled = true;
        options.Compression.ClientMaxWindowBits = 10;
        options.Compression.RequireClientNoContextTakeover = true;
        await using var socket = await WibeSocketClient.ConnectAsync(_server.Url(EchoServer.Deflate), options);

        var agreed = Assert.NotNull(socket.Compression);
        Assert.True(agreed.ClientMaxWindowBits <= 10, $"client window {agreed.ClientMaxWindowBits}");
        Assert.True(agreed.ClientNoContextTakeover);
        for (int i = 0; i < 5; i++)
        {
            await RoundTrip.AssertEchoAsync(socket, Payloads.Create(100_000, text: true, seed: i), text: true);
        }
    }

    [Fact]
    public async Task StreamedSend_PartsArriveAsOneMessage()
    {
        await using var socket = await WibeSocketClient.ConnectAsync(_server.Url(EchoServer.Plain));
        var writer = await socket.BeginMessageAsync(WibeSocketMessageType.Binary);
        await writer.WriteAsync(new byte[] { 1, 2, 3 });
        await writer.WriteAsync(new byte[] { 4, 5 });
        await writer.CompleteAsync(new byte[] { 6 });

        var message = await socket.ReceiveAsync();
        Assert.Equal(new byte[] { 1, 2, 3, 4, 5, 6 }, message.ToArray());
    }

    [Fact]
    public async Task Handshake_HeadersOriginAndSubProtocol_ReachTheServer()
    {
        var options = new WibeSocketClientOptions { Origin = "https://app.example" };
        options.Headers.Add(new("Authorization", "Bearer token-123"));
        options.Headers.Add(new("Cookie", "session=abc"));
        options.SubProtocols.Add("chat.v1");
        options.SubProtocols.Add("chat.v2");
        await using var socket = await WibeSocketClient.ConnectAsync(_server.Url(EchoServer.Headers), options);

        Assert.Equal("chat.v2", socket.SubProtocol);
        var report = await socket.ReceiveAsync();
        Assert.Equal("authorization=Bearer token-123;cookie=session=abc;origin=https://app.example;protocol=chat.v2", report.GetText());
    }

    [Fact]
    public async Task ClientClose_ServerSeesCodeAndReason()
    {
        await using var socket = await WibeSocketClient.ConnectAsync(_server.Url(EchoServer.Plain));
        await RoundTrip.AssertEchoAsync(socket, [1], text: false);

        await socket.CloseAsync((WebSocketCloseStatus)4001, "bye now");

        Assert.Equal(WibeSocketState.Closed, socket.State);
        await WaitUntilAsync(() => _server.PeerCloses.Count > 0);
        Assert.Equal(new PeerClose((WebSocketCloseStatus)4001, "bye now"), _server.PeerCloses.Single());
        await socket.Completion.WaitAsync(TimeSpan.FromSeconds(10));
    }

    [Theory]
    [InlineData(1000)]
    [InlineData(1001)]
    [InlineData(1008)]
    [InlineData(1011)]
    [InlineData(4999)]
    public async Task ServerClose_ClientReceivesCodeAndReason(int code)
    {
        await using var socket = await WibeSocketClient.ConnectAsync(_server.Url(EchoServer.Commands));
        await socket.SendTextAsync($"close:{code}:server says {code}");

        var message = await socket.ReceiveAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(10));

        Assert.True(message.IsClose);
        Assert.Equal((WebSocketCloseStatus)code, socket.CloseStatus);
        Assert.Equal($"server says {code}", socket.CloseStatusDescription);
        await socket.Completion.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal(WibeSocketState.Closed, socket.State);
    }

    [Fact]
    public async Task MessagesBeforeServerClose_AreAllDeliveredBeforeTheClose()
    {
        await using var socket = await WibeSocketClient.ConnectAsync(_server.Url(EchoServer.Commands));
        await socket.SendTextAsync("one");
        await socket.SendTextAsync("two");
        await socket.SendTextAsync("close:1000:done");

        // Nothing was received yet: the echoes wait in the client's queue while the close handshake completes.
        await Task.Delay(200);
        Assert.Equal("one", (await socket.ReceiveAsync()).GetText());
        Assert.Equal("two", (await socket.ReceiveAsync()).GetText());
        Assert.True((await socket.ReceiveAsync()).IsClose);
    }

    [Fact]
    public async Task ConnectionRefused_ThrowsSocketException()
    {
        var port = _server.BaseUri.Port;
        await _server.StopAsync();
        await Assert.ThrowsAsync<System.Net.Sockets.SocketException>(() => WibeSocketClient.ConnectAsync(new Uri($"ws://127.0.0.1:{port}/echo")));
    }

    [Fact]
    public async Task ServerAnswers404_UpgradeExceptionWithStatus()
    {
        var error = await Assert.ThrowsAsync<WibeSocketUpgradeException>(() => WibeSocketClient.ConnectAsync(_server.Url("/nowhere")));
        Assert.Equal(404, error.StatusCode);
        Assert.Equal(Protocol.Handshake.WebSocketResponseFailure.UnexpectedStatusCode, error.Failure);
    }

    [Fact]
    public async Task InvalidUri_FailsBeforeConnecting()
    {
        await Assert.ThrowsAsync<ArgumentException>(() => WibeSocketClient.ConnectAsync(new Uri("http://127.0.0.1/echo")));
    }

    private static async Task WaitUntilAsync(Func<bool> condition)
    {
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < deadline, "Timed out waiting for the condition.");
            await Task.Delay(20);
        }
    }
}

internal static class RoundTrip
{
    public static async Task AssertEchoAsync(WibeSocket socket, byte[] payload, bool text)
    {
        var type = text ? WibeSocketMessageType.Text : WibeSocketMessageType.Binary;
        await socket.SendAsync(payload, type).AsTask().WaitAsync(TimeSpan.FromSeconds(30));
        var echo = await socket.ReceiveAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(30));
        Assert.Equal(type, echo.Type);
        var actual = echo.ToArray();
        Assert.True(payload.AsSpan().SequenceEqual(actual), Payloads.Describe(payload, actual));
    }
}
