using Shockwave.Tests.Shared;
using Microsoft.AspNetCore.Builder;
using Shockwave.Middleware.Tests.Support;
using Shockwave.Protocol;

namespace Shockwave.Middleware.Tests.Integration;

/// <summary>
/// Keep-alive, pong timeout and close timeout on a manual clock: the shared heartbeat ticks only when the test
/// advances time, so nothing here sleeps on the wall clock. A ping/pong round trip is the sync point that proves the
/// server has read everything sent before it.
/// </summary>
public sealed class TimedBehaviourTests
{
    private const int ConnectionClosed = 2;
    private const int KeepAliveTimedOut = 4;
    private const int CloseTimedOut = 5;

    private static readonly TimeSpan Interval = TimeSpan.FromSeconds(10);
    private static readonly TimeSpan PongTimeout = TimeSpan.FromSeconds(5);
    private static readonly TimeSpan CloseTimeout = TimeSpan.FromSeconds(3);

    [Fact]
    public async Task SilentPeer_GetsPingAfterInterval_AndIsAbortedAfterKeepAliveTimeout()
    {
        var clock = new ManualTimeProvider();
        var ended = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var app = await StartAsync(clock, async (socket, ct) =>
        {
            await Handlers.EchoAsync(socket, ct);
            ended.TrySetResult();
        });
        await using var client = await RawWebSocketClient.ConnectAsync(app.Port, "/ws");
        await RoundTripAsync(client, "registered");

        // 9 s of silence: no keep-alive ping yet (it would arrive before this pong).
        clock.Advance(TimeSpan.FromSeconds(9));
        await RoundTripAsync(client, "after 9 s");

        // 10 s of silence since that ping: the server pings.
        clock.Advance(Interval);
        var ping = await client.ReceiveFrameAsync();
        Assert.Equal(WebSocketOpcode.Ping, ping.Opcode);

        // No answer: alive 4 s later, aborted at 5 s, without a close frame (a dead peer would not read it).
        clock.Advance(PongTimeout - TimeSpan.FromSeconds(1));
        Assert.Empty(app.Logs.Events(KeepAliveTimedOut));
        clock.Advance(TimeSpan.FromSeconds(1));
        Assert.Single(app.Logs.Events(KeepAliveTimedOut));

        await client.ExpectEndAsync();
        await ended.Task.WaitAsync(Eventually.DefaultTimeout);
        var closed = await app.Logs.WaitForEventAsync(ConnectionClosed);
        Assert.Equal("keepalive_timeout", closed.Value("CloseReason"));
    }

    [Fact]
    public async Task PeerAnsweringKeepAlive_StaysOpen()
    {
        var clock = new ManualTimeProvider();
        await using var app = await StartAsync(clock, Handlers.EchoAsync);
        await using var client = await RawWebSocketClient.ConnectAsync(app.Port, "/ws");
        await RoundTripAsync(client, "registered");

        clock.Advance(Interval);
        Assert.Equal(WebSocketOpcode.Ping, (await client.ReceiveFrameAsync()).Opcode);
        await client.SendFrameAsync(WebSocketOpcode.Pong, ReadOnlySpan<byte>.Empty);
        await RoundTripAsync(client, "pong sent");

        // Past the point where a silent peer is aborted: still open, and echoing.
        clock.Advance(PongTimeout + TimeSpan.FromSeconds(1));
        Assert.Empty(app.Logs.Events(KeepAliveTimedOut));
        await client.SendTextAsync("still here");
        Assert.Equal("still here", (await client.ReceiveFrameAsync()).Text);
    }

    [Fact]
    public async Task KeepAliveDisabled_NeverPings()
    {
        var clock = new ManualTimeProvider();
        await using var app = await StartAsync(clock, Handlers.EchoAsync, keepAlive: TimeSpan.Zero);
        await using var client = await RawWebSocketClient.ConnectAsync(app.Port, "/ws");
        await RoundTripAsync(client, "registered");

        clock.Advance(TimeSpan.FromMinutes(5));

        await RoundTripAsync(client, "after 5 minutes");
        Assert.Empty(app.Logs.Events(KeepAliveTimedOut));
    }

    // R6455-7.1.1: after its close the server waits for the peer's close only up to CloseTimeout, then aborts; until
    // then it still answers pings (R6455-5.5.2-a: no close received yet).
    [Fact]
    public async Task ServerClose_PeerNeverAnswers_AbortedAfterCloseTimeout()
    {
        var clock = new ManualTimeProvider();
        var closeReturned = new TaskCompletionSource<WibeSocketState>(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var app = await StartAsync(clock, async (socket, ct) =>
        {
            await socket.ReceiveAsync(ct);
            await socket.CloseAsync(WebSocketCloseStatus.NormalClosure, "server done", ct);
            closeReturned.TrySetResult(socket.State);
        });
        await using var client = await RawWebSocketClient.ConnectAsync(app.Port, "/ws");
        await RoundTripAsync(client, "registered");

        await client.SendTextAsync("close, please");
        var close = await client.ReceiveFrameAsync();
        Assert.Equal(WebSocketOpcode.Close, close.Opcode);
        Assert.Equal((ushort)1000, close.CloseCode);
        Assert.Equal("server done", close.CloseReason);

        clock.Advance(CloseTimeout - TimeSpan.FromSeconds(1));
        Assert.Empty(app.Logs.Events(CloseTimedOut));
        Assert.False(closeReturned.Task.IsCompleted);
        await RoundTripAsync(client, "still waiting for my close?");

        clock.Advance(TimeSpan.FromSeconds(1));
        Assert.Single(app.Logs.Events(CloseTimedOut));
        await client.ExpectEndAsync();
        Assert.Equal(WibeSocketState.Aborted, await closeReturned.Task.WaitAsync(Eventually.DefaultTimeout));
        var closed = await app.Logs.WaitForEventAsync(ConnectionClosed);
        Assert.Equal("close_timeout", closed.Value("CloseReason"));
    }

    // R6455-7.1.1: the close handshake ends within CloseTimeout in both directions. A peer that sends its close and
    // then stops reading leaves the server's reply stuck behind data it was sending; without a deadline on the
    // CloseReceived state that connection would stay open for ever (regression test).
    [Fact]
    public async Task PeerClosesThenStopsReading_ReplyStuck_AbortedAfterCloseTimeout()
    {
        var clock = new ManualTimeProvider();
        await using var app = await StartAsync(clock, async (socket, ct) =>
        {
            var chunk = new byte[64 * 1024];
            try
            {
                while (!ct.IsCancellationRequested)
                {
                    await socket.SendAsync(chunk, WibeSocketMessageType.Binary, ct);
                }
            }
            catch (Exception ex) when (ex is OperationCanceledException or InvalidOperationException)
            {
                // The connection ended or the close arrived: stop sending.
            }
        }, keepAlive: TimeSpan.Zero);
        await using var client = await RawWebSocketClient.ConnectAsync(app.Port, "/ws");

        // Let the flood fill the socket buffers first (the client reads nothing): a close sent earlier may be answered
        // before the server's sends back up, and then no reply is stuck.
        await Task.Delay(TimeSpan.FromMilliseconds(500));
        await client.SendCloseAsync(1000, "bye, and I stop reading");

        // The server floods a client that never reads, so its close reply cannot be flushed. Time passes until the
        // close deadline fires; it must, within a bounded number of heartbeat ticks. Keep-alive is off: until the
        // server has read the close, the advancing clock would otherwise end the connection as a dead peer first.
        // The server must first read the client's close while flooding it; on a busy machine that takes real time,
        // so the loop allows up to 10 s of it (200 ticks of the manual clock, each a second).
        for (int tick = 0; tick < 200 && app.Logs.Events(CloseTimedOut).Count == 0; tick++)
        {
            clock.Advance(TimeSpan.FromSeconds(1));
            await Task.Delay(50);
        }

        Assert.True(app.Logs.Events(CloseTimedOut).Count == 1, app.Logs.Dump());
        var closed = await app.Logs.WaitForEventAsync(ConnectionClosed);
        Assert.Equal("close_timeout", closed.Value("CloseReason"));
    }

    private static Task<KestrelApp> StartAsync(ManualTimeProvider clock, Func<WibeSocket, CancellationToken, Task> handler, TimeSpan? keepAlive = null) =>
        KestrelApp.StartAsync(e => e.MapWibeSocket("/ws", handler), new TestAppOptions
        {
            TimeProvider = clock,
            WibeSocket = options =>
            {
                options.KeepAliveInterval = keepAlive ?? Interval;
                options.KeepAliveTimeout = PongTimeout;
                options.CloseTimeout = CloseTimeout;
            },
        });

    /// <summary>Sends a ping and requires its pong as the very next frame.</summary>
    private static async Task RoundTripAsync(RawWebSocketClient client, string payload)
    {
        await client.SendPingAsync(payload);
        var frame = await client.ReceiveFrameAsync();
        Assert.Equal(WebSocketOpcode.Pong, frame.Opcode);
        Assert.Equal(payload, frame.Text);
    }
}
