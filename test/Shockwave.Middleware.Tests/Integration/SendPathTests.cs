using System.Buffers.Binary;
using System.Net.WebSockets;
using Microsoft.AspNetCore.Builder;
using Shockwave.Middleware.Tests.Support;
using Shockwave.Protocol;

namespace Shockwave.Middleware.Tests.Integration;

/// <summary>
/// The runtime's send path and its read loop on a real Kestrel: pongs while the handler is busy or mid-way through a
/// streamed message, streamed messages, and concurrent senders (RFC 6455 sections 5.4 and 5.5.2).
/// </summary>
public sealed class SendPathTests
{
    private static readonly TimeSpan Bound = Eventually.DefaultTimeout;

    // R6455-5.5.2-a, R6455-5.5.2-S1: the read loop answers pings while the handler is not reading at all.
    [Fact]
    public async Task PingWhileHandlerIsBlocked_IsAnswered()
    {
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var app = await KestrelApp.StartAsync(e => e.MapWibeSocket("/ws", async (socket, ct) =>
        {
            await release.Task.WaitAsync(Bound, ct);
            await Handlers.EchoAsync(socket, ct);
        }));
        await using var client = await RawWebSocketClient.ConnectAsync(app.Port, "/ws");

        // A message the handler has not asked for yet sits in the read-ahead; the ping behind it is still answered.
        await client.SendTextAsync("queued");
        await client.SendPingAsync("are you there");
        var pong = await client.ReceiveFrameAsync();

        Assert.Equal(WebSocketOpcode.Pong, pong.Opcode);
        Assert.Equal("are you there", pong.Text);
        Assert.False(release.Task.IsCompleted);

        release.SetResult();
        var echoed = await client.ReceiveFrameAsync();
        Assert.Equal(WebSocketOpcode.Text, echoed.Opcode);
        Assert.Equal("queued", echoed.Text);
    }

    // A message written in parts reaches ClientWebSocket as one message.
    [Fact]
    public async Task StreamedSend_ArrivesAsOneMessage()
    {
        await using var app = await KestrelApp.StartAsync(e => e.MapWibeSocket("/ws", async (socket, ct) =>
        {
            await using var writer = await socket.BeginMessageAsync(WibeSocketMessageType.Text, ct);
            await writer.WriteAsync("Hello, "u8.ToArray(), ct);
            await writer.WriteAsync("streamed "u8.ToArray(), ct);
            await writer.CompleteAsync("world"u8.ToArray(), ct);
            await socket.ReceiveAsync(ct);
        }));
        using var client = await ClientWebSocketExtensions.ConnectAsync(app.WebSocketUri("/ws"));

        var message = await client.ReceiveMessageAsync();

        Assert.Equal(WebSocketMessageType.Text, message.Type);
        Assert.Equal("Hello, streamed world", message.Text);
        await client.CloseBoundedAsync();
    }

    // R6455-5.4-d, R6455-5.5.1-S1: a pong goes out between the frames of a streamed message, never inside a frame, and
    // does not wait for the message to complete. R6455-5.4-f: the first frame carries the type, the rest continue it.
    [Fact]
    public async Task StreamedSend_PingMidMessage_PongGoesBetweenFrames()
    {
        var resume = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var app = await KestrelApp.StartAsync(e => e.MapWibeSocket("/ws", async (socket, ct) =>
        {
            await using var writer = await socket.BeginMessageAsync(WibeSocketMessageType.Binary, ct);
            await writer.WriteAsync(new byte[70_000], ct);
            await resume.Task.WaitAsync(Bound, ct);
            await writer.CompleteAsync(new byte[] { 1, 2, 3 }, ct);
            await socket.ReceiveAsync(ct);
        }));
        await using var client = await RawWebSocketClient.ConnectAsync(app.Port, "/ws");

        var first = await client.ReceiveFrameAsync();
        Assert.Equal(WebSocketOpcode.Binary, first.Opcode);
        Assert.False(first.Fin);
        Assert.Equal(70_000, first.Payload.Length);

        await client.SendPingAsync("mid-message");
        var pong = await client.ReceiveFrameAsync();
        Assert.Equal(WebSocketOpcode.Pong, pong.Opcode);
        Assert.Equal("mid-message", pong.Text);

        resume.SetResult();
        var last = await client.ReceiveFrameAsync();
        Assert.Equal(WebSocketOpcode.Continuation, last.Opcode);
        Assert.True(last.Fin);
        Assert.Equal(new byte[] { 1, 2, 3 }, last.Payload);
    }

    // R6455-5.4-c: a whole message sent while a streamed one is open waits for it; the two never interleave.
    [Fact]
    public async Task SendDuringStreamedMessage_WaitsUntilItCompletes()
    {
        var resume = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var otherStarted = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var app = await KestrelApp.StartAsync(e => e.MapWibeSocket("/ws", async (socket, ct) =>
        {
            var writer = await socket.BeginMessageAsync(WibeSocketMessageType.Text, ct);
            await writer.WriteAsync("part one, "u8.ToArray(), ct);
            var other = Task.Run(async () =>
            {
                otherStarted.SetResult();
                await socket.SendTextAsync("the other message", ct);
            }, ct);
            await otherStarted.Task.WaitAsync(Bound, ct);
            await resume.Task.WaitAsync(Bound, ct);
            await writer.CompleteAsync("part two"u8.ToArray(), ct);
            await other.WaitAsync(Bound, ct);
            await socket.ReceiveAsync(ct);
        }));
        await using var client = await RawWebSocketClient.ConnectAsync(app.Port, "/ws");

        var first = await client.ReceiveFrameAsync();
        Assert.Equal("part one, ", first.Text);
        resume.SetResult();

        var streamed = await client.ReceiveFrameAsync();
        Assert.Equal(WebSocketOpcode.Continuation, streamed.Opcode);
        Assert.True(streamed.Fin);
        Assert.Equal("part two", streamed.Text);
        var other = await client.ReceiveFrameAsync();
        Assert.Equal(WebSocketOpcode.Text, other.Opcode);
        Assert.True(other.Fin);
        Assert.Equal("the other message", other.Text);
    }

    // R6455-5.4-b/c: SendAsync from 8 threads at once; every message arrives whole, and each thread's in order.
    // Sizes cross the runtime's 64 KiB flush slice, so large frames are written in several flushes.
    [Fact]
    public async Task ConcurrentSendsFromEightThreads_KeepMessagesWhole()
    {
        const int Threads = 8;
        const int PerThread = 30;
        await using var app = await KestrelApp.StartAsync(e => e.MapWibeSocket("/ws", async (socket, ct) =>
        {
            var go = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            var senders = Enumerable.Range(0, Threads).Select(thread => Task.Run(async () =>
            {
                await go.Task;
                for (int seq = 0; seq < PerThread; seq++)
                {
                    await socket.SendAsync(CreateMessage(thread, seq), WibeSocketMessageType.Binary, ct);
                }
            }, ct)).ToArray();
            go.SetResult();
            await Task.WhenAll(senders).WaitAsync(Bound, ct);
            await socket.ReceiveAsync(ct);
        }));
        using var client = await ClientWebSocketExtensions.ConnectAsync(app.WebSocketUri("/ws"));

        int[] next = new int[Threads];
        for (int i = 0; i < Threads * PerThread; i++)
        {
            var message = await client.ReceiveMessageAsync();
            Assert.Equal(WebSocketMessageType.Binary, message.Type);
            int thread = message.Payload[0];
            int seq = BinaryPrimitives.ReadUInt16BigEndian(message.Payload.AsSpan(1));
            Assert.Equal(next[thread]++, seq);
            Assert.Equal(CreateMessage(thread, seq), message.Payload);
        }

        Assert.All(next, count => Assert.Equal(PerThread, count));
        await client.CloseBoundedAsync();
    }

    private static byte[] CreateMessage(int thread, int seq)
    {
        int size = 3 + ((thread * 7919) + (seq * 104_729)) % 150_000;
        byte[] message = new byte[size];
        message[0] = (byte)thread;
        BinaryPrimitives.WriteUInt16BigEndian(message.AsSpan(1), (ushort)seq);
        message.AsSpan(3).Fill((byte)(thread * 31 + seq));
        return message;
    }
}
