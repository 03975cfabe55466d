using System.Net.WebSockets;
using Microsoft.AspNetCore.Builder;
using Shockwave.Middleware.Tests.Support;
using Shockwave.Protocol;
using ShockwaveCloseStatus = Shockwave.Protocol.WebSocketCloseStatus;
using WebSocketCloseStatus = System.Net.WebSockets.WebSocketCloseStatus;

namespace Shockwave.Middleware.Tests.Integration;

/// <summary>Close codes both ways, and how a handler's end becomes a close code (RFC 6455 sections 5.5.1, 7.1.2, 7.4).</summary>
public sealed class CloseHandshakeTests
{
    // R6455-5.5.1-d: the handler sees the peer's code and reason; the reply echoes the code.
    [Theory]
    [InlineData(1000)]
    [InlineData(3001)]
    [InlineData(4999)]
    public async Task ClientCloses_HandlerSeesStatusAndReason_ReplyEchoesCode(int code)
    {
        var seen = new TaskCompletionSource<(ShockwaveCloseStatus?, string?, WibeSocketState)>(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var app = await KestrelApp.StartAsync(e => e.MapWibeSocket("/ws", async (socket, ct) =>
        {
            await foreach (var message in socket.ReadMessagesAsync(ct))
            {
                await socket.SendAsync(message, ct);
            }

            seen.TrySetResult((socket.CloseStatus, socket.CloseStatusDescription, socket.State));
        }));
        using var client = await ClientWebSocketExtensions.ConnectAsync(app.WebSocketUri("/ws"));

        await client.CloseBoundedAsync((WebSocketCloseStatus)code, $"client says {code}");

        Assert.Equal((WebSocketCloseStatus)code, client.CloseStatus);
        var (status, reason, state) = await seen.Task.WaitAsync(Eventually.DefaultTimeout);
        Assert.Equal((ShockwaveCloseStatus)code, status);
        Assert.Equal($"client says {code}", reason);
        Assert.NotEqual(WibeSocketState.Open, state);
    }

    // R6455-7.1.2-a: the server starts the close with its code and reason; CloseAsync returns once the client's close
    // has come back and leaves the socket Closed.
    [Fact]
    public async Task ServerCloseAsync_ClientSeesCodeAndReason()
    {
        var closed = new TaskCompletionSource<WibeSocketState>(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var app = await KestrelApp.StartAsync(e => e.MapWibeSocket("/ws", async (socket, ct) =>
        {
            await socket.CloseAsync(ShockwaveCloseStatus.EndpointUnavailable, "bye", ct);
            closed.TrySetResult(socket.State);
        }));
        using var client = await ClientWebSocketExtensions.ConnectAsync(app.WebSocketUri("/ws"));

        var received = await client.ReceiveMessageAsync();

        Assert.Equal(WebSocketMessageType.Close, received.Type);
        Assert.Equal(WebSocketCloseStatus.EndpointUnavailable, client.CloseStatus);
        Assert.Equal("bye", client.CloseStatusDescription);
        using var timeout = new CancellationTokenSource(Eventually.DefaultTimeout);
        await client.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, null, timeout.Token);
        Assert.Equal(WibeSocketState.Closed, await closed.Task.WaitAsync(Eventually.DefaultTimeout));
    }

    // A handler that returns while the connection is open closes it normally (1000).
    [Fact]
    public async Task HandlerReturns_ClosesWith1000()
    {
        await using var app = await KestrelApp.StartAsync(e => e.MapWibeSocket("/ws", (socket, ct) => socket.SendTextAsync("last words", ct).AsTask()));
        using var client = await ClientWebSocketExtensions.ConnectAsync(app.WebSocketUri("/ws"));

        Assert.Equal("last words", (await client.ReceiveMessageAsync()).Text);
        var close = await client.ReceiveMessageAsync();

        Assert.Equal(WebSocketMessageType.Close, close.Type);
        Assert.Equal(WebSocketCloseStatus.NormalClosure, client.CloseStatus);
    }

    // A handler that throws ends the connection with 1011 and an error log line naming the exception.
    [Fact]
    public async Task HandlerThrows_ClosesWith1011AndLogs()
    {
        await using var app = await KestrelApp.StartAsync(e => e.MapWibeSocket("/ws", async (socket, ct) =>
        {
            await socket.ReceiveAsync(ct);
            throw new InvalidOperationException("handler bug");
        }));
        using var client = await ClientWebSocketExtensions.ConnectAsync(app.WebSocketUri("/ws"));

        await client.SendTextAsync("trigger");
        var close = await client.ReceiveMessageAsync();

        Assert.Equal(WebSocketMessageType.Close, close.Type);
        Assert.Equal(WebSocketCloseStatus.InternalServerError, client.CloseStatus);
        var failed = await app.Logs.WaitForEventAsync(6);
        Assert.Equal("handler bug", failed.Exception?.Message);
    }

    // R6455-5.5.1-d: the reply to a client's close is written by the read loop, possibly after the handler's last
    // send releases the transport. The connection must not end before that reply is flushed, or the client sees the
    // TCP connection close without a closing handshake.
    [Fact]
    public async Task ClientClosesWhileServerSends_CloseReplyIsFlushedBeforeTcpEnds()
    {
        var closeSeen = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        byte[] big = new byte[16 * 1024 * 1024];
        await using var app = await KestrelApp.StartAsync(e => e.MapWibeSocket("/ws", async (socket, ct) =>
        {
            await socket.ReceiveAsync(ct);
            var watch = Task.Run(async () =>
            {
                await Eventually.TrueAsync(() => socket.State != WibeSocketState.Open, what: "the client's close");
                closeSeen.TrySetResult();
            }, CancellationToken.None);

            // The client is not reading: this send stalls on back-pressure while the client's close arrives.
            await socket.SendAsync(big, WibeSocketMessageType.Binary, ct);
            await watch;
        }));
        await using var client = await RawWebSocketClient.ConnectAsync(app.Port, "/ws");

        // Once the big frame has started arriving, the server holds the transport for it; then the client closes.
        await client.SendTextAsync("go");
        await client.WaitForBytesAsync(16);
        await client.SendCloseAsync(3000, "leaving");
        await closeSeen.Task.WaitAsync(Eventually.DefaultTimeout);

        var (opcode, payload, _) = await client.ReceiveMessageAsync();
        Assert.Equal(WebSocketOpcode.Binary, opcode);
        Assert.Equal(big.Length, payload.Length);
        var reply = await client.ReceiveFrameAsync();
        Assert.Equal(WebSocketOpcode.Close, reply.Opcode);
        Assert.Equal((ushort)3000, reply.CloseCode);
        Assert.Equal(ConnectionEnd.Eof, await client.ExpectEndAsync());
    }
}
