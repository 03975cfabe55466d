using System.Text;
using Shockwave.Protocol;
using Shockwave.Protocol.Compression;
using Shockwave.Runtime.Tests.Support;

namespace Shockwave.Runtime.Tests;

/// <summary>
/// The same runtime behaviour proven in both roles: each test runs once as a server facing a raw client and once as a
/// client facing a raw server. Only the masking rules differ between the two (RFC 6455 section 5.1).
/// </summary>
public sealed class BothRolesTests
{
    public static TheoryData<WebSocketRole> Roles => [WebSocketRole.Server, WebSocketRole.Client];

    private static Task Echo(WibeSocket socket, CancellationToken ct) => EchoAsync(socket, ct);

    private static async Task EchoAsync(WibeSocket socket, CancellationToken ct)
    {
        await foreach (var message in socket.ReadMessagesAsync(ct))
        {
            await socket.SendAsync(message, ct);
        }
    }

    [Theory, MemberData(nameof(Roles))]
    public async Task Sends_AreMaskedByTheClientOnly_WithAFreshKeyPerFrame(WebSocketRole role)
    {
        // R6455-5.1-a, R6455-5.1-c, R6455-5.3-a, R6455-5.3-b
        await using var harness = RuntimeHarness.Start(role, async (socket, ct) =>
        {
            for (int i = 0; i < 3; i++)
            {
                await socket.SendTextAsync($"message {i}", ct);
            }

            await EchoAsync(socket, ct);
        });

        var frames = new List<WireFrame>();
        for (int i = 0; i < 3; i++)
        {
            frames.Add((await harness.Peer.ReadFrameAsync())!);
        }

        for (int i = 0; i < 3; i++)
        {
            Assert.Equal(WebSocketOpcode.Text, frames[i].Opcode);
            Assert.Equal($"message {i}", Encoding.UTF8.GetString(frames[i].Payload));
            Assert.Equal(role == WebSocketRole.Client, frames[i].MaskKey.HasValue);
        }

        if (role == WebSocketRole.Client)
        {
            Assert.Equal(3, frames.Select(f => f.MaskKey).Distinct().Count());
        }
    }

    [Theory, MemberData(nameof(Roles))]
    public async Task FrameMaskedWrongForTheRole_FailsWith1002(WebSocketRole role)
    {
        // R6455-5.1-b (a server refuses an unmasked frame), R6455-5.1-d (a client refuses a masked one)
        await using var harness = RuntimeHarness.Start(role, Echo);
        await harness.Peer.SendFrameAsync(WebSocketOpcode.Text, fin: true, "x"u8.ToArray(), masked: role == WebSocketRole.Client);

        var close = await harness.Peer.ReadFrameAsync(WebSocketOpcode.Close);
        Assert.Equal(WebSocketCloseStatus.ProtocolError, close.Close.Status);
        Assert.Equal(role == WebSocketRole.Client, close.MaskKey.HasValue);
    }

    [Theory, MemberData(nameof(Roles))]
    public async Task FragmentedMessage_WithAPingBetweenFragments_ArrivesWhole_AndThePingIsAnswered(WebSocketRole role)
    {
        // R6455-5.4-d, R6455-5.4-e, R6455-5.5.2-a, R6455-5.5.3-a
        await using var harness = RuntimeHarness.Start(role, Echo);
        byte[] pingPayload = [1, 2, 3, 4, 5];
        await harness.Peer.SendFrameAsync(WebSocketOpcode.Text, fin: false, "hel"u8.ToArray());
        await harness.Peer.SendFrameAsync(WebSocketOpcode.Ping, fin: true, pingPayload);
        await harness.Peer.SendFrameAsync(WebSocketOpcode.Continuation, fin: false, "l"u8.ToArray());
        await harness.Peer.SendFrameAsync(WebSocketOpcode.Continuation, fin: true, "o"u8.ToArray());

        var pong = await harness.Peer.ReadFrameAsync();
        Assert.Equal(WebSocketOpcode.Pong, pong!.Opcode);
        Assert.Equal(pingPayload, pong.Payload);
        Assert.Equal(role == WebSocketRole.Client, pong.MaskKey.HasValue);

        var echo = await harness.Peer.ReadFrameAsync(WebSocketOpcode.Text);
        Assert.True(echo.Fin);
        Assert.Equal("hello", Encoding.UTF8.GetString(echo.Payload));
    }

    [Theory, MemberData(nameof(Roles))]
    public async Task PeerClose_IsEchoed_AndTheConnectionEndsClosed(WebSocketRole role)
    {
        // R6455-5.5.1-d: the close is answered, echoing the status code.
        await using var harness = RuntimeHarness.Start(role, Echo);
        await harness.Peer.SendCloseAsync((WebSocketCloseStatus)4001, "bye");

        var reply = await harness.Peer.ReadFrameAsync(WebSocketOpcode.Close);
        Assert.Equal((WebSocketCloseStatus)4001, reply.Close.Status);
        await harness.Run.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal(WibeSocketState.Closed, harness.Socket.State);
        Assert.Equal((WebSocketCloseStatus)4001, harness.Socket.CloseStatus);
        Assert.Equal("bye", harness.Socket.CloseStatusDescription);
    }

    [Theory, MemberData(nameof(Roles))]
    public async Task CloseAsync_SendsOurClose_WaitsForThePeers_AndRefusesLaterSends(WebSocketRole role)
    {
        // R6455-5.5.1-c: no data after our close; section 7.1.2 / 7.1.1: wait for the peer's close.
        var closed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        Exception? sendAfterClose = null;
        await using var harness = RuntimeHarness.Start(role, async (socket, ct) =>
        {
            await socket.CloseAsync(WebSocketCloseStatus.NormalClosure, "done", ct);
            closed.SetResult();
            sendAfterClose = await Record.ExceptionAsync(async () => await socket.SendTextAsync("late", ct));
        });

        var close = await harness.Peer.ReadFrameAsync(WebSocketOpcode.Close);
        Assert.Equal((WebSocketCloseStatus.NormalClosure, "done"), close.Close);
        Assert.False(closed.Task.IsCompleted);

        await harness.Peer.SendCloseAsync(WebSocketCloseStatus.NormalClosure);
        await closed.Task.WaitAsync(TimeSpan.FromSeconds(10));
        await harness.Run.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.IsType<WibeSocketClosedException>(sendAfterClose);
        Assert.Equal(WibeSocketState.Closed, harness.Socket.State);
        Assert.Null(await harness.Peer.ReadFrameAsync());
    }

    [Theory, MemberData(nameof(Roles))]
    public async Task SilentPeer_IsPinged_ThenAbortedWhenNothingArrivesInTime(WebSocketRole role)
    {
        await using var harness = RuntimeHarness.Start(role, Echo, RuntimeHarness.Limits(keepAlive: TimeSpan.FromSeconds(10), keepAliveTimeout: TimeSpan.FromSeconds(5)));
        await harness.SocketReady.Task.WaitAsync(TimeSpan.FromSeconds(10));

        harness.Advance(TimeSpan.FromSeconds(9));
        harness.Advance(TimeSpan.FromSeconds(1));
        var ping = await harness.Peer.ReadFrameAsync();
        Assert.Equal(WebSocketOpcode.Ping, ping!.Opcode);
        Assert.Equal(role == WebSocketRole.Client, ping.MaskKey.HasValue);

        harness.Advance(TimeSpan.FromSeconds(4));
        Assert.Equal(WibeSocketState.Open, harness.Socket.State);
        harness.Advance(TimeSpan.FromSeconds(1));
        await harness.Run.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal(WibeSocketState.Aborted, harness.Socket.State);
    }

    [Theory, MemberData(nameof(Roles))]
    public async Task AnyFrameAfterThePing_KeepsTheConnectionAlive(WebSocketRole role)
    {
        await using var harness = RuntimeHarness.Start(role, Echo, RuntimeHarness.Limits(keepAlive: TimeSpan.FromSeconds(10), keepAliveTimeout: TimeSpan.FromSeconds(5)));
        await harness.SocketReady.Task.WaitAsync(TimeSpan.FromSeconds(10));
        harness.Advance(TimeSpan.FromSeconds(10));
        await harness.Peer.ReadFrameAsync(WebSocketOpcode.Ping);

        await harness.Peer.SendTextAsync("still here");
        await harness.Peer.ReadFrameAsync(WebSocketOpcode.Text);
        harness.Advance(TimeSpan.FromSeconds(6));
        Assert.Equal(WibeSocketState.Open, harness.Socket.State);
    }

    [Theory, MemberData(nameof(Roles))]
    public async Task MessageOverTheLimitAcrossFragments_FailsWith1009(WebSocketRole role)
    {
        // R6455-10.4 style limit: the total of a fragmented message is bounded, not just each frame.
        await using var harness = RuntimeHarness.Start(role, Echo, RuntimeHarness.Limits(maxMessageSize: 100));
        await harness.Peer.SendFrameAsync(WebSocketOpcode.Binary, fin: false, new byte[60]);
        await harness.Peer.SendFrameAsync(WebSocketOpcode.Continuation, fin: true, new byte[60]);

        var close = await harness.Peer.ReadFrameAsync(WebSocketOpcode.Close);
        Assert.Equal(WebSocketCloseStatus.MessageTooBig, close.Close.Status);
    }

    [Theory, MemberData(nameof(Roles))]
    public async Task CompressedMessageInflatingPastTheLimit_FailsWith1009(WebSocketRole role)
    {
        // Inflation is bounded by the message limit (a decompression bomb never allocates past it).
        var parameters = PerMessageDeflateParameters.Default;
        await using var harness = RuntimeHarness.Start(role, Echo, RuntimeHarness.Limits(maxMessageSize: 64 * 1024), parameters);
        using var peerCompressor = new PerMessageDeflateCompressor(parameters, new PerMessageDeflateOptions { Enabled = true }, harness.Peer.Role);
        var compressed = new System.Buffers.ArrayBufferWriter<byte>();
        peerCompressor.Compress(new byte[1 << 20], compressed);
        Assert.True(compressed.WrittenCount < 64 * 1024);

        await harness.Peer.SendFrameAsync(WebSocketOpcode.Binary, fin: true, compressed.WrittenMemory, rsv1: true);

        var close = await harness.Peer.ReadFrameAsync(WebSocketOpcode.Close);
        Assert.Equal(WebSocketCloseStatus.MessageTooBig, close.Close.Status);
    }

    [Theory, MemberData(nameof(Roles))]
    public async Task CompressedText_RoundTripsThroughTheRolesDeflate(WebSocketRole role)
    {
        // RFC 7692 section 7.2: each side compresses with its own role's parameters.
        var parameters = new PerMessageDeflateParameters(ServerNoContextTakeover: false, ClientNoContextTakeover: true, ServerMaxWindowBits: 12, ClientMaxWindowBits: 10);
        await using var harness = RuntimeHarness.Start(role, Echo, compression: parameters);
        var options = new PerMessageDeflateOptions { Enabled = true };
        using var peerCompressor = new PerMessageDeflateCompressor(parameters, options, harness.Peer.Role);
        using var peerDecompressor = new PerMessageDeflateDecompressor(parameters, options, 1 << 20, harness.Peer.Role);
        string text = string.Concat(Enumerable.Repeat("compress me, ", 200));

        for (int round = 0; round < 3; round++)
        {
            var compressed = new System.Buffers.ArrayBufferWriter<byte>();
            peerCompressor.Compress(Encoding.UTF8.GetBytes(text), compressed);
            await harness.Peer.SendFrameAsync(WebSocketOpcode.Text, fin: true, compressed.WrittenMemory, rsv1: true);

            var echo = await harness.Peer.ReadFrameAsync(WebSocketOpcode.Text);
            Assert.True(echo.Rsv1);
            var inflated = new System.Buffers.ArrayBufferWriter<byte>();
            Assert.Equal(DecompressionStatus.Done, peerDecompressor.Decompress(echo.Payload, inflated));
            Assert.Equal(DecompressionStatus.Done, peerDecompressor.Finish(inflated));
            Assert.Equal(text, Encoding.UTF8.GetString(inflated.WrittenSpan));
        }
    }

    [Theory, MemberData(nameof(Roles))]
    public async Task StreamedMessage_GoesOutAsFragments_WithTheRightOpcodes(WebSocketRole role)
    {
        // R6455-5.4-f: the first fragment carries the type, the rest are continuations.
        await using var harness = RuntimeHarness.Start(role, async (socket, ct) =>
        {
            await using (var writer = await socket.BeginMessageAsync(WibeSocketMessageType.Binary, ct))
            {
                await writer.WriteAsync(new byte[] { 1 }, ct);
                await writer.WriteAsync(new byte[] { 2 }, ct);
                await writer.CompleteAsync(new byte[] { 3 }, ct);
            }

            await EchoAsync(socket, ct);
        });

        var frames = new[] { await harness.Peer.ReadFrameAsync(), await harness.Peer.ReadFrameAsync(), await harness.Peer.ReadFrameAsync() };
        Assert.Equal([WebSocketOpcode.Binary, WebSocketOpcode.Continuation, WebSocketOpcode.Continuation], frames.Select(f => f!.Opcode));
        Assert.Equal([false, false, true], frames.Select(f => f!.Fin));
        Assert.Equal([1, 2, 3], frames.SelectMany(f => f!.Payload));
        Assert.All(frames, f => Assert.Equal(role == WebSocketRole.Client, f!.MaskKey.HasValue));
    }

    [Theory, MemberData(nameof(Roles))]
    public async Task SendingACloseOrControlType_IsRefused(WebSocketRole role)
    {
        await using var harness = RuntimeHarness.Start(role, Echo);
        var socket = await harness.SocketReady.Task.WaitAsync(TimeSpan.FromSeconds(10));
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(async () => await socket.SendAsync(new byte[1], WibeSocketMessageType.Close));
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(async () => await socket.SendAsync(new byte[1], WibeSocketMessageType.Ping));
    }
}
