using System.Buffers;
using Microsoft.AspNetCore.Builder;
using Shockwave.Middleware.Tests.Support;
using Shockwave.Protocol;

namespace Shockwave.Middleware.Tests.Integration;

/// <summary>
/// How received messages reach the handler on a real Kestrel: whole ones borrowed in place from the transport pipe,
/// split ones assembled in pooled memory, empty ones borrowing nothing. Whatever the mix, the handler sees every
/// message whole, in order, byte for byte, and the pipe is consumed only past what the handler still holds.
/// </summary>
public sealed class ReceivePathTests
{
    private static readonly TimeSpan Bound = Eventually.DefaultTimeout;

    // Empty messages, the 7/16-bit length boundaries, and messages larger than a transport block (4 KiB), so one burst
    // mixes every way a message is held; a lagging handler lets them pile up in the read-ahead first.
    [Fact]
    public async Task PipelinedMessagesOfEverySize_WhileTheHandlerLags_EchoInOrder()
    {
        int[] sizes = [1, 64, 0, 1023, 1024, 1025, 700, 5000, 125, 126, 64, 20_000, 3];
        const int Count = 400;
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var app = await KestrelApp.StartAsync(e => e.MapWibeSocket("/ws", async (socket, ct) =>
        {
            await release.Task.WaitAsync(Bound, ct);
            await Handlers.EchoAsync(socket, ct);
        }));
        await using var client = await RawWebSocketClient.ConnectAsync(app.Port, "/ws");

        var sent = new List<byte[]>();
        var burst = new ArrayBufferWriter<byte>();
        for (int i = 0; i < Count; i++)
        {
            byte[] payload = new byte[sizes[i % sizes.Length]];
            new Random(i).NextBytes(payload);
            sent.Add(payload);
            WebSocketFrameWriter.WriteFrame(burst, WebSocketOpcode.Binary, fin: true, rsv1: false, payload, WebSocketFrameWriter.NewMaskKey());
        }

        await client.SendRawAsync(burst.WrittenMemory);
        release.SetResult();

        for (int i = 0; i < Count; i++)
        {
            var (opcode, payload, _) = await client.ReceiveMessageAsync();
            Assert.Equal(WebSocketOpcode.Binary, opcode);
            Assert.True(sent[i].AsSpan().SequenceEqual(payload), $"message {i} ({sent[i].Length} bytes) differs");
        }
    }

    // A handler that yields while it holds each message: the next ones are parsed behind it, and the pipe may only be
    // consumed up to the message still held.
    [Fact]
    public async Task SmallMessagesArrivingWhileTheHandlerHoldsOne_AreEachDeliveredIntact()
    {
        await using var app = await KestrelApp.StartAsync(e => e.MapWibeSocket("/ws", async (socket, ct) =>
        {
            await foreach (var message in socket.ReadMessagesAsync(ct))
            {
                // Still holding this message while the next ones are parsed behind it.
                await Task.Yield();
                await socket.SendAsync(message, ct);
            }
        }));
        await using var client = await RawWebSocketClient.ConnectAsync(app.Port, "/ws");

        for (int round = 0; round < 50; round++)
        {
            for (int i = 0; i < 20; i++)
            {
                await client.SendTextAsync($"round {round} message {i} " + new string('x', (round * 37 + i * 11) % 900));
            }

            for (int i = 0; i < 20; i++)
            {
                var frame = await client.ReceiveFrameAsync();
                Assert.Equal(WebSocketOpcode.Text, frame.Opcode);
                Assert.StartsWith($"round {round} message {i} ", frame.Text);
                Assert.Equal(($"round {round} message {i} ").Length + ((round * 37 + i * 11) % 900), frame.Payload.Length);
            }
        }
    }

    // The peer's address, built on demand from the request on the MapWibeSocket path.
    [Fact]
    public async Task RemoteEndPoint_IsThePeersAddressAndPort()
    {
        await using var app = await KestrelApp.StartAsync(e => e.MapWibeSocket("/ws", async (socket, ct) =>
        {
            var endPoint = Assert.IsType<System.Net.IPEndPoint>(socket.RemoteEndPoint);
            await socket.SendAsync(System.Text.Encoding.UTF8.GetBytes(endPoint.ToString()), WibeSocketMessageType.Text, ct);
            await socket.ReceiveAsync(ct);
        }));
        await using var client = await RawWebSocketClient.ConnectAsync(app.Port, "/ws");

        var frame = await client.ReceiveFrameAsync();

        var reported = System.Net.IPEndPoint.Parse(frame.Text);
        Assert.Equal(System.Net.IPAddress.Loopback, reported.Address);
        Assert.InRange(reported.Port, 1, 65535);
        Assert.NotEqual(app.Port, reported.Port);
    }
}
