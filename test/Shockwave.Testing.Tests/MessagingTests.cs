using System.Buffers;
using System.Text;
using Microsoft.AspNetCore.TestHost;
using Shockwave.Protocol;

namespace Shockwave.Testing.Tests;

[Collection(TestAppCollection.Name)]
public class MessagingTests(TestApp app)
{
    public static TheoryData<int> Sizes => [0, 1, 125, 126, 65_535, 65_536, 1024 * 1024];

    [Theory]
    [MemberData(nameof(Sizes))]
    public async Task SendText_EchoedWhole(int length)
    {
        await using var connection = await app.Server.CreateWibeSocketClient().ConnectAsync("/echo");

        // Multi-byte characters too, cut to the exact byte length.
        string text = string.Create(length, 0, (span, _) =>
        {
            for (int i = 0; i < span.Length; i++)
            {
                span[i] = (char)('a' + (i % 26));
            }
        });
        if (length >= 3)
        {
            text = "é" + text[2..];
        }

        await connection.SendTextAsync(text);
        var echo = await connection.ReceiveAsync();

        Assert.Equal(WibeSocketMessageType.Text, echo.Type);
        Assert.Equal(text, echo.Text);
        Assert.Equal(1, echo.FrameCount);
        Assert.False(echo.IsCompressed);
    }

    [Theory]
    [MemberData(nameof(Sizes))]
    public async Task SendBinary_EchoedWhole(int length)
    {
        await using var connection = await app.Server.CreateWibeSocketClient().ConnectAsync("/echo");
        byte[] data = RandomBytes(length);

        await connection.SendBinaryAsync(data);

        AssertBinaryEcho(data, await connection.ReceiveAsync());
    }

    [Theory]
    [MemberData(nameof(Sizes))]
    public async Task Raw_SendBinary_EchoedWhole(int length)
    {
        await using var connection = await app.Server.CreateWibeSocketClient().ConnectRawAsync("/echo");
        byte[] data = RandomBytes(length);

        await connection.SendBinaryAsync(data);

        AssertBinaryEcho(data, await connection.ReceiveAsync());
    }

    [Fact]
    public async Task SendFrame_FragmentsJoinedByTheServer()
    {
        await using var connection = await app.Server.CreateWibeSocketClient().ConnectRawAsync("/echo");

        await connection.SendFrameAsync(WebSocketOpcode.Text, fin: false, "hel"u8.ToArray());
        await connection.PingAsync("mid"u8.ToArray());
        await connection.SendFrameAsync(WebSocketOpcode.Continuation, fin: true, "lo"u8.ToArray());

        var pong = await connection.ReceiveAsync();
        Assert.Equal(WibeSocketMessageType.Pong, pong.Type);
        Assert.Equal("mid"u8.ToArray(), pong.Payload.ToArray());
        Assert.Equal("hello", (await connection.ReceiveAsync()).Text);
    }

    [Fact]
    public async Task SendFrame_IsMaskedOnTheWire()
    {
        await using var connection = await app.Server.CreateWibeSocketClient().ConnectRawAsync("/echo");

        // An unmasked frame is a protocol error for the server (RFC 6455 section 5.1), so a masked one must have been sent
        // for the echo to come back.
        await connection.SendTextAsync("masked");
        Assert.Equal("masked", (await connection.ReceiveAsync()).Text);

        byte[] unmasked = [0x81, 0x02, (byte)'n', (byte)'o'];
        await connection.SendRawAsync(unmasked);
        var close = await connection.ReceiveAsync();
        Assert.Equal(WibeSocketMessageType.Close, close.Type);
        Assert.Equal(WebSocketCloseStatus.ProtocolError, close.CloseStatus);
    }

    [Fact]
    public async Task SendRaw_FrameSplitIntoSingleBytes_IsReassembledByTheServer()
    {
        await using var connection = await app.Server.CreateWibeSocketClient().ConnectRawAsync("/echo");
        var frame = new ArrayBufferWriter<byte>();
        WebSocketFrameWriter.WriteFrame(frame, WebSocketRole.Client, WebSocketOpcode.Binary, fin: true, rsv1: false, new byte[300]);

        foreach (byte b in frame.WrittenMemory.ToArray())
        {
            await connection.SendRawAsync(new[] { b });
        }

        var echo = await connection.ReceiveAsync();
        Assert.Equal(300, echo.Payload.Length);
    }

    [Fact]
    public async Task SendFrame_ReservedOpcode_ServerFailsTheConnection()
    {
        await using var connection = await app.Server.CreateWibeSocketClient().ConnectRawAsync("/echo");

        await connection.SendFrameAsync((WebSocketOpcode)0x3, fin: true, "x"u8.ToArray());

        var close = await connection.ReceiveAsync();
        Assert.Equal(WebSocketCloseStatus.ProtocolError, close.CloseStatus);
        Assert.Equal("reserved opcode", close.CloseReason);
    }

    [Fact]
    public async Task ReceiveFrame_ExposesHeaderFields()
    {
        await using var connection = await app.Server.CreateWibeSocketClient().ConnectRawAsync("/echo");

        await connection.SendTextAsync("frame");
        var frame = await connection.ReceiveFrameAsync();

        Assert.Equal(WebSocketOpcode.Text, frame.Opcode);
        Assert.True(frame.Fin);
        Assert.False(frame.Rsv1);
        Assert.False(frame.IsMasked);
        Assert.Equal("frame"u8.ToArray(), frame.Payload.ToArray());
        Assert.Equal(new byte[] { 0x81, 0x05 }.Concat("frame"u8.ToArray()), frame.WireBytes.ToArray());
    }

    [Fact]
    public async Task Receive_FragmentedServerMessage_JoinedWithControlFrameDeliveredBetween()
    {
        await using var connection = await app.Server.CreateWibeSocketClient().ConnectRawAsync("/server-frames?kind=fragmented");

        var ping = await connection.ReceiveAsync();
        Assert.Equal(WibeSocketMessageType.Ping, ping.Type);
        Assert.Equal("in-between"u8.ToArray(), ping.Payload.ToArray());

        var message = await connection.ReceiveAsync();
        Assert.Equal("fragmented", message.Text);
        Assert.Equal(3, message.FrameCount);
    }

    [Fact]
    public async Task Receive_Ping_AnsweredWithPongCarryingItsPayload()
    {
        await using var connection = await app.Server.CreateWibeSocketClient().ConnectRawAsync("/server-frames?kind=ping");

        Assert.Equal(WibeSocketMessageType.Ping, (await connection.ReceiveAsync()).Type);
        Assert.Equal("Pong:heartbeat", (await connection.ReceiveAsync()).Text);
    }

    [Fact]
    public async Task Receive_PingWithAutoPongOff_IsNotAnswered()
    {
        var client = app.Server.CreateWibeSocketClient();
        client.AutoPong = false;
        await using var connection = await client.ConnectRawAsync("/server-frames?kind=ping");

        Assert.Equal(WibeSocketMessageType.Ping, (await connection.ReceiveAsync()).Type);
        await connection.SendTextAsync("not a pong");
        Assert.Equal("Text:not a pong", (await connection.ReceiveAsync()).Text);
    }

    [Fact]
    public async Task Receive_MaskedServerFrame_ThrowsProtocolErrorButReceiveFrameShowsIt()
    {
        await using (var connection = await app.Server.CreateWibeSocketClient().ConnectRawAsync("/server-frames?kind=masked"))
        {
            var ex = await Assert.ThrowsAsync<WebSocketProtocolException>(() => connection.ReceiveAsync());
            Assert.Equal(nameof(Errors.MaskedServerFrame), ex.Error.Name);
        }

        await using (var connection = await app.Server.CreateWibeSocketClient().ConnectRawAsync("/server-frames?kind=masked"))
        {
            var frame = await connection.ReceiveFrameAsync();
            Assert.True(frame.IsMasked);
            Assert.Equal("masked"u8.ToArray(), frame.Payload.ToArray());
        }
    }

    [Fact]
    public async Task Receive_InvalidUtf8FromServer_ThrowsProtocolError()
    {
        await using var connection = await app.Server.CreateWibeSocketClient().ConnectRawAsync("/server-frames?kind=bad-utf8");

        var ex = await Assert.ThrowsAsync<WebSocketProtocolException>(() => connection.ReceiveAsync());
        Assert.Equal(WebSocketCloseStatus.InvalidPayloadData, ex.Error.CloseStatus);
    }

    [Fact]
    public async Task Receive_Rsv1AfterDeflateNegotiated_ExposedAsCompressed()
    {
        var client = app.Server.CreateWibeSocketClient();
        client.Extensions = "permessage-deflate; client_max_window_bits";
        await using var connection = await client.ConnectRawAsync("/server-frames?kind=rsv1");

        Assert.Equal("permessage-deflate", connection.Extensions);
        var message = await connection.ReceiveAsync();
        Assert.True(message.IsCompressed);
        Assert.Equal(new byte[] { 0xF2, 0x48, 0x05, 0x00 }, message.Payload.ToArray());
    }

    [Fact]
    public async Task Receive_MessageOverClientLimit_ThrowsTooBig()
    {
        var client = app.Server.CreateWibeSocketClient();
        client.MaxMessageSize = 100;
        await using var connection = await client.ConnectRawAsync("/echo");

        await connection.SendBinaryAsync(new byte[101]);
        var ex = await Assert.ThrowsAsync<WebSocketProtocolException>(() => connection.ReceiveAsync());
        Assert.Equal(WebSocketCloseStatus.MessageTooBig, ex.Error.CloseStatus);
    }

    [Fact]
    public async Task Close_ServerEchoesCodeAndReason_ThenEndsTheConnection()
    {
        await using var connection = await app.Server.CreateWibeSocketClient().ConnectRawAsync("/echo");

        var close = await connection.CloseAsync(WebSocketCloseStatus.NormalClosure, "done");

        Assert.Equal(WibeSocketMessageType.Close, close.Type);
        Assert.Equal(WebSocketCloseStatus.NormalClosure, close.CloseStatus);
        Assert.Equal("done", close.CloseReason);
        Assert.Same(close, connection.ReceivedClose);
        await connection.WaitForServerToFinishAsync();
        await Assert.ThrowsAsync<EndOfStreamException>(() => connection.ReceiveFrameAsync());
    }

    [Fact]
    public async Task Close_AfterServerClosedFirst_RepliesAndReturnsTheServersClose()
    {
        string id = Guid.NewGuid().ToString();
        await using var connection = await app.Server.CreateWibeSocketClient().ConnectRawAsync($"/server-frames?kind=close-first&id={id}");

        var received = await connection.ReceiveAsync();
        Assert.Equal((WebSocketCloseStatus)4000, received.CloseStatus);
        Assert.Equal("bye", received.CloseReason);

        var close = await connection.CloseAsync(WebSocketCloseStatus.NormalClosure);
        Assert.Same(received, close);
        Assert.Equal("Close:03E8", await app.Signal(id).Task.WaitAsync(TimeSpan.FromSeconds(5)));
    }

    [Fact]
    public async Task SendClose_InvalidCode_Throws()
    {
        await using var connection = await app.Server.CreateWibeSocketClient().ConnectRawAsync("/echo");

        Assert.Throws<ArgumentOutOfRangeException>(() => { _ = connection.SendCloseAsync(WebSocketCloseStatus.NoStatusReceived); });
    }

    [Fact]
    public async Task CompleteOutput_ServerSeesEndOfStream()
    {
        await using var connection = await app.Server.CreateWibeSocketClient().ConnectRawAsync("/echo");

        connection.CompleteOutput();

        await connection.WaitForServerToFinishAsync();
        var ex = await Assert.ThrowsAsync<EndOfStreamException>(() => connection.ReceiveAsync());
        Assert.Contains("before the next frame", ex.Message);
        await Assert.ThrowsAsync<InvalidOperationException>(() => connection.SendTextAsync("late"));
    }

    [Fact]
    public async Task Messages_AreEncodedAsUtf8()
    {
        await using var connection = await app.Server.CreateWibeSocketClient().ConnectRawAsync("/echo");

        await connection.SendTextAsync("żółw 🐢");
        var frame = await connection.ReceiveFrameAsync();

        Assert.Equal(Encoding.UTF8.GetBytes("żółw 🐢"), frame.Payload.ToArray());
    }

    private static byte[] RandomBytes(int length)
    {
        byte[] data = new byte[length];
        new Random(length).NextBytes(data);
        return data;
    }

    private static void AssertBinaryEcho(byte[] sent, WibeSocketTestMessage echo)
    {
        Assert.Equal(WibeSocketMessageType.Binary, echo.Type);
        Assert.Equal(sent, echo.Payload.ToArray());
        Assert.Equal(1, echo.FrameCount);
    }
}
