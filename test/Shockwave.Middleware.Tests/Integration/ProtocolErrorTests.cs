using System.Buffers.Binary;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Logging;
using Shockwave.Middleware.Tests.Support;
using Shockwave.Protocol;

namespace Shockwave.Middleware.Tests.Integration;

/// <summary>An echo endpoint with small limits, shared by the protocol error tests.</summary>
public sealed class ProtocolErrorServer : IAsyncLifetime
{
    public const int MaxFrame = 1024;
    public const int MaxMessage = 2048;
    public const int MaxFragments = 4;

    internal KestrelApp App { get; private set; } = null!;

    public async Task InitializeAsync() => App = await KestrelApp.StartAsync(e => e.MapWibeSocket("/echo", Handlers.EchoAsync, options =>
    {
        options.MaxFramePayloadLength = MaxFrame;
        options.MaxMessageSize = MaxMessage;
        options.MaxFragmentsPerMessage = MaxFragments;
    }));

    public async Task DisposeAsync() => await App.DisposeAsync();
}

/// <summary>
/// Protocol errors over a raw socket (RFC 6455 section 7.1.7, "Fail the WebSocket Connection"): the close frame with
/// the right code is flushed and read by the client before the server ends TCP (R6455-7.1.7-S2, R6455-10.7-S1,
/// R6455-7.1.7-b), and the server keeps serving other connections.
/// </summary>
public sealed class ProtocolErrorTests(ProtocolErrorServer server) : IClassFixture<ProtocolErrorServer>
{
    public static TheoryData<string, int> Violations() => new()
    {
        { "R6455-5.1-b unmasked client frame", 1002 },
        { "R6455-5.2-c reserved data opcode 0x3", 1002 },
        { "R6455-5.2-c reserved control opcode 0xB", 1002 },
        { "R6455-5.2-b RSV2 set", 1002 },
        { "R6455-5.8-a RSV1 without a negotiated extension", 1002 },
        { "R6455-5.2-d 64-bit length with the top bit set", 1002 },
        { "R6455-5.4-a fragmented ping", 1002 },
        { "R6455-5.5-a ping payload of 126 bytes", 1002 },
        { "R6455-5.4-f continuation without a message", 1002 },
        { "R6455-5.4-c new text frame inside a fragmented message", 1002 },
        { "R6455-5.5.1-a close payload of one byte", 1002 },
        { "R6455-7.4.1-a close code 1005 on the wire", 1002 },
        { "R6455-8.1 invalid UTF-8 in a whole text message", 1007 },
        { "R6455-8.1 invalid UTF-8 in the first fragment (fail fast)", 1007 },
        { "R6455-10.4-a frame over the frame limit", 1009 },
        { "R6455-10.4-a message over the message limit", 1009 },
        { "R6455-10.4-a more fragments than allowed", 1009 },
    };

    [Theory]
    [MemberData(nameof(Violations))]
    public async Task Violation_ClosesWithCodeFlushedBeforeTcpEnds(string violation, int expectedCode)
    {
        await using (var client = await RawWebSocketClient.ConnectAsync(server.App.Port, "/echo"))
        {
            await SendViolationAsync(client, violation);

            var close = await client.ReceiveFrameAsync();
            Assert.Equal(WebSocketOpcode.Close, close.Opcode);
            Assert.Equal((ushort)expectedCode, close.CloseCode);

            // Nothing after the close frame, then a clean end of the TCP connection.
            Assert.Equal(ConnectionEnd.Eof, await client.ExpectEndAsync());
        }

        await AssertServerStillServesAsync();
    }

    // R6455-7.1.7-c: input after the violating frame is not processed (no echo, no pong); the close still arrives first.
    [Fact]
    public async Task InputAfterViolation_IsIgnored_CloseStillArrivesFirst()
    {
        await using (var client = await RawWebSocketClient.ConnectAsync(server.App.Port, "/echo"))
        {
            await client.SendFrameAsync(WebSocketOpcode.Text, "unmasked"u8, masked: false);
            await client.SendTextAsync("must not be echoed");
            await client.SendPingAsync("must not be answered");

            var close = await client.ReceiveFrameAsync();
            Assert.Equal(WebSocketOpcode.Close, close.Opcode);
            Assert.Equal((ushort)1002, close.CloseCode);

            // Unread input on the server may turn its end into a reset rather than a FIN; either is fine, but no
            // further frame (an echo, a pong) may come: ExpectEndAsync throws if one does.
            await client.ExpectEndAsync();
        }

        await AssertServerStillServesAsync();
    }

    // R6455-7.1.7: failing the connection stops processing of what follows the bad frame, not of what came before
    // it. Messages that arrived whole before the violation, in the same TCP write, are still handed to the handler,
    // and the close frame follows their echoes (Autobahn grades dropping them NON-STRICT, e.g. cases 3.2 and 4.1.3).
    [Fact]
    public async Task MessagesBeforeViolation_AreEchoedBeforeTheClose()
    {
        await using (var client = await RawWebSocketClient.ConnectAsync(server.App.Port, "/echo"))
        {
            var writer = new System.Buffers.ArrayBufferWriter<byte>();
            WebSocketFrameWriter.WriteFrame(writer, WebSocketRole.Client, WebSocketOpcode.Text, fin: true, rsv1: false, "first"u8);
            WebSocketFrameWriter.WriteFrame(writer, WebSocketRole.Client, WebSocketOpcode.Text, fin: true, rsv1: false, "second"u8);
            WebSocketFrameWriter.WriteFrame(writer, WebSocketRole.Client, (WebSocketOpcode)0x3, fin: true, rsv1: false, "reserved opcode"u8);
            await client.SendRawAsync(writer.WrittenMemory);

            var first = await client.ReceiveFrameAsync();
            Assert.Equal(WebSocketOpcode.Text, first.Opcode);
            Assert.Equal("first", System.Text.Encoding.UTF8.GetString(first.Payload));
            var second = await client.ReceiveFrameAsync();
            Assert.Equal("second", System.Text.Encoding.UTF8.GetString(second.Payload));
            var close = await client.ReceiveFrameAsync();
            Assert.Equal(WebSocketOpcode.Close, close.Opcode);
            Assert.Equal((ushort)1002, close.CloseCode);
            await client.ExpectEndAsync();
        }

        await AssertServerStillServesAsync();
    }

    private static Task SendViolationAsync(RawWebSocketClient client, string violation)
    {
        byte[] filler = new byte[ProtocolErrorServer.MaxFrame];
        return violation switch
        {
            "R6455-5.1-b unmasked client frame" => client.SendFrameAsync(WebSocketOpcode.Text, "hello"u8, masked: false),
            "R6455-5.2-c reserved data opcode 0x3" => client.SendFrameAsync((WebSocketOpcode)0x3, "x"u8),
            "R6455-5.2-c reserved control opcode 0xB" => client.SendFrameAsync((WebSocketOpcode)0xB, "x"u8),
            "R6455-5.2-b RSV2 set" => client.SendFrameAsync(WebSocketOpcode.Text, "x"u8, extraBits: 0x20),
            "R6455-5.8-a RSV1 without a negotiated extension" => client.SendFrameAsync(WebSocketOpcode.Text, "x"u8, extraBits: 0x40),
            "R6455-5.2-d 64-bit length with the top bit set" => client.SendRawAsync(LengthWithTopBit()),
            "R6455-5.4-a fragmented ping" => client.SendFrameAsync(WebSocketOpcode.Ping, "x"u8, fin: false),
            "R6455-5.5-a ping payload of 126 bytes" => client.SendFrameAsync(WebSocketOpcode.Ping, new byte[126]),
            "R6455-5.4-f continuation without a message" => client.SendFrameAsync(WebSocketOpcode.Continuation, "x"u8),
            "R6455-5.4-c new text frame inside a fragmented message" => SendAllAsync(
                () => client.SendFrameAsync(WebSocketOpcode.Text, "a"u8, fin: false),
                () => client.SendFrameAsync(WebSocketOpcode.Text, "b"u8)),
            "R6455-5.5.1-a close payload of one byte" => client.SendFrameAsync(WebSocketOpcode.Close, new byte[] { 3 }),
            "R6455-7.4.1-a close code 1005 on the wire" => client.SendFrameAsync(WebSocketOpcode.Close, new byte[] { 0x03, 0xED }),
            "R6455-8.1 invalid UTF-8 in a whole text message" => client.SendFrameAsync(WebSocketOpcode.Text, new byte[] { (byte)'o', (byte)'k', 0xC3, 0x28 }),
            "R6455-8.1 invalid UTF-8 in the first fragment (fail fast)" => client.SendFrameAsync(WebSocketOpcode.Text, new byte[] { 0xFF }, fin: false),
            "R6455-10.4-a frame over the frame limit" => client.SendFrameAsync(WebSocketOpcode.Binary, new byte[ProtocolErrorServer.MaxFrame + 1]),
            "R6455-10.4-a message over the message limit" => SendAllAsync(
                () => client.SendFrameAsync(WebSocketOpcode.Binary, filler, fin: false),
                () => client.SendFrameAsync(WebSocketOpcode.Continuation, filler, fin: false),
                () => client.SendFrameAsync(WebSocketOpcode.Continuation, "x"u8, fin: true)),
            "R6455-10.4-a more fragments than allowed" => SendAllAsync([
                () => client.SendFrameAsync(WebSocketOpcode.Text, "1"u8, fin: false),
                .. Enumerable.Range(0, ProtocolErrorServer.MaxFragments).Select(i => (Func<Task>)(() => client.SendFrameAsync(WebSocketOpcode.Continuation, "x"u8, fin: false)))]),
            _ => throw new ArgumentOutOfRangeException(nameof(violation), violation, null),
        };
    }

    private static async Task SendAllAsync(params Func<Task>[] sends)
    {
        foreach (var send in sends)
        {
            await send();
        }
    }

    private static byte[] LengthWithTopBit()
    {
        byte[] frame = new byte[14];
        frame[0] = 0x82;
        frame[1] = 0x80 | 127;
        BinaryPrimitives.WriteUInt64BigEndian(frame.AsSpan(2), 0x8000_0000_0000_0001UL);
        return frame;
    }

    private async Task AssertServerStillServesAsync()
    {
        await using var next = await RawWebSocketClient.ConnectAsync(server.App.Port, "/echo");
        await next.SendTextAsync("still serving");
        var echoed = await next.ReceiveFrameAsync();
        Assert.Equal("still serving", echoed.Text);
        Assert.DoesNotContain(server.App.Logs.Records, r => r.Level >= LogLevel.Error);
    }
}
