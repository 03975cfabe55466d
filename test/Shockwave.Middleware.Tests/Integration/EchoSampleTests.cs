using System.Net.WebSockets;
using System.Text;
using Shockwave.Middleware.Tests.Support;
using Shockwave.Protocol;
using WebSocketCloseStatus = System.Net.WebSockets.WebSocketCloseStatus;
using WebSocketMessageType = System.Net.WebSockets.WebSocketMessageType;

namespace Shockwave.Middleware.Tests.Integration;

/// <summary>
/// samples/Echo on a real Kestrel, driven by <see cref="ClientWebSocket"/> and by a raw socket: message sizes across
/// every length encoding up to the 16 MiB the sample is configured for, fragmentation both ways, and close codes.
/// </summary>
public sealed class EchoSampleTests(EchoSampleServer server) : IClassFixture<EchoSampleServer>
{
    public static TheoryData<int, WebSocketMessageType> Sizes()
    {
        var data = new TheoryData<int, WebSocketMessageType>();

        // R6455-5.2-e: 125/126 and 65535/65536 are the boundaries of the 7-bit, 16-bit and 64-bit length encodings.
        foreach (int size in new[] { 0, 1, 125, 126, 65535, 65536, 1 << 20, 16 << 20 })
        {
            data.Add(size, WebSocketMessageType.Text);
            data.Add(size, WebSocketMessageType.Binary);
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(Sizes))]
    public async Task Echo_ReturnsTheSameMessage(int size, WebSocketMessageType type)
    {
        using var socket = await ClientWebSocketExtensions.ConnectAsync(server.WebSocketUri("/echo"));
        byte[] payload = CreatePayload(size, type);
        using var timeout = new CancellationTokenSource(Eventually.DefaultTimeout);

        await socket.SendAsync(payload, type, endOfMessage: true, timeout.Token);
        var echoed = await socket.ReceiveMessageAsync();

        Assert.Equal(type, echoed.Type);
        Assert.Equal(payload.Length, echoed.Payload.Length);
        Assert.True(payload.AsSpan().SequenceEqual(echoed.Payload), "The echoed payload differs.");
        await socket.CloseBoundedAsync();
        Assert.Equal(WebSocketCloseStatus.NormalClosure, socket.CloseStatus);
    }

    // R6455-5.4-e: a message sent in many frames is reassembled and comes back whole.
    [Fact]
    public async Task FragmentedClientMessage_IsEchoedWhole()
    {
        using var socket = await ClientWebSocketExtensions.ConnectAsync(server.WebSocketUri("/echo"));
        byte[] payload = CreatePayload(1 << 20, WebSocketMessageType.Binary);
        using var timeout = new CancellationTokenSource(Eventually.DefaultTimeout);

        for (int offset = 0; offset < payload.Length; offset += 4096)
        {
            bool last = offset + 4096 >= payload.Length;
            await socket.SendAsync(payload.AsMemory(offset, Math.Min(4096, payload.Length - offset)), WebSocketMessageType.Binary, last, timeout.Token);
        }

        var echoed = await socket.ReceiveMessageAsync();
        Assert.Equal(WebSocketMessageType.Binary, echoed.Type);
        Assert.True(payload.AsSpan().SequenceEqual(echoed.Payload), "The reassembled message differs.");
        await socket.CloseBoundedAsync();
    }

    // R6455-5.4-d: a ping between the fragments of a message is answered and does not break the message.
    // R6455-5.6-a: a code point split across fragments is valid UTF-8 as a whole message.
    [Fact]
    public async Task FragmentsWithPingBetweenAndSplitCodePoint_PongThenOneWholeMessage()
    {
        await using var client = await RawWebSocketClient.ConnectAsync(server.Port, "/echo");
        byte[] text = Encoding.UTF8.GetBytes("fragmented é message");
        int split = Array.IndexOf(text, (byte)0xC3) + 1;

        await client.SendFrameAsync(WebSocketOpcode.Text, text.AsSpan(0, 5), fin: false);
        await client.SendFrameAsync(WebSocketOpcode.Continuation, text.AsSpan(5, split - 5), fin: false);
        await client.SendPingAsync("between");
        await client.SendFrameAsync(WebSocketOpcode.Continuation, text.AsSpan(split), fin: true);

        var pong = await client.ReceiveFrameAsync();
        Assert.Equal(WebSocketOpcode.Pong, pong.Opcode);
        Assert.Equal("between", pong.Text);
        var echoed = await client.ReceiveFrameAsync();
        Assert.Equal(WebSocketOpcode.Text, echoed.Opcode);
        Assert.True(echoed.Fin);
        Assert.Equal(text, echoed.Payload);
    }

    // R6455-5.5.3-a: the pong carries exactly the ping's application data (125 bytes, the control frame maximum).
    [Fact]
    public async Task Ping_IsAnsweredWithIdenticalPayload()
    {
        await using var client = await RawWebSocketClient.ConnectAsync(server.Port, "/echo");
        byte[] data = new byte[125];
        Random.Shared.NextBytes(data);

        await client.SendFrameAsync(WebSocketOpcode.Ping, data);

        var pong = await client.ReceiveFrameAsync();
        Assert.Equal(WebSocketOpcode.Pong, pong.Opcode);
        Assert.Equal(data, pong.Payload);
    }

    // R6455-5.5.1-d: the server answers a close with a close echoing the code; R6455-7.4: 1000, the registered
    // range and the whole application range (3000-4999) are legal.
    [Theory]
    [InlineData(1000)]
    [InlineData(1001)]
    [InlineData(3001)]
    [InlineData(4999)]
    public async Task ClientClose_ServerEchoesTheCode(int code)
    {
        using var socket = await ClientWebSocketExtensions.ConnectAsync(server.WebSocketUri("/echo"));
        await socket.SendTextAsync("before close");
        Assert.Equal("before close", (await socket.ReceiveMessageAsync()).Text);

        await socket.CloseBoundedAsync((WebSocketCloseStatus)code, $"reason {code}");

        Assert.Equal(WebSocketState.Closed, socket.State);
        Assert.Equal((WebSocketCloseStatus)code, socket.CloseStatus);
    }

    // R6455-5.5.1-e/f: once the close is both sent and received, the server closes TCP itself, without waiting.
    [Fact]
    public async Task ClientClose_ServerRepliesThenEndsTcp()
    {
        await using var client = await RawWebSocketClient.ConnectAsync(server.Port, "/echo");

        await client.SendCloseAsync(4000, "done");

        var reply = await client.ReceiveFrameAsync();
        Assert.Equal(WebSocketOpcode.Close, reply.Opcode);
        Assert.Equal((ushort)4000, reply.CloseCode);
        Assert.Equal(ConnectionEnd.Eof, await client.ExpectEndAsync(TimeSpan.FromSeconds(3)));
    }

    private static byte[] CreatePayload(int size, WebSocketMessageType type)
    {
        byte[] payload = new byte[size];
        if (type == WebSocketMessageType.Binary)
        {
            Random.Shared.NextBytes(payload);
            return payload;
        }

        for (int i = 0; i < size; i++)
        {
            payload[i] = (byte)('a' + Random.Shared.Next(26));
        }

        return payload;
    }
}
