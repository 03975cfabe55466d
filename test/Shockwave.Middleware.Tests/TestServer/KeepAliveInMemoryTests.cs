using Shockwave.Tests.Shared;
using Microsoft.AspNetCore.Builder;
using Shockwave.Middleware.Tests.Support;
using Shockwave.Protocol;

namespace Shockwave.Middleware.Tests.TestServerTests;

/// <summary>Keep-alive on the in-memory path, on the manual clock.</summary>
public sealed class KeepAliveInMemoryTests
{
    [Fact]
    public async Task SilentPeer_GetsPing_ThenIsAbortedWithoutPong()
    {
        var clock = new ManualTimeProvider();
        await using var app = await StartAsync(clock);
        var client = app.CreateClient();
        client.AutoPong = false;
        await using var connection = await client.ConnectRawAsync("/ws");

        // A round trip proves the connection is registered with the heartbeat before the clock moves.
        await connection.SendTextAsync("sync");
        Assert.Equal("sync", (await connection.ReceiveAsync()).Text);

        clock.Advance(TimeSpan.FromSeconds(10));
        Assert.Equal(WibeSocketMessageType.Ping, (await connection.ReceiveAsync()).Type);

        clock.Advance(TimeSpan.FromSeconds(5));
        await app.Logs.WaitForEventAsync(4);
        await Assert.ThrowsAsync<EndOfStreamException>(() => connection.ReceiveAsync());
    }

    // The runtime-backed test client answers the server's keep-alive pings by itself, like a browser: a test that only
    // waits keeps its connection past the pong timeout.
    [Fact]
    public async Task QuietClient_AnswersPingsByItself_AndOutlivesThePongTimeout()
    {
        var clock = new ManualTimeProvider();
        await using var app = await StartAsync(clock);
        await using var connection = await app.CreateClient().ConnectAsync("/ws");
        await connection.SendTextAsync("sync");
        Assert.Equal("sync", (await connection.ReceiveAsync()).Text);

        // Three pings' worth of silence from the test, a second at a time: each ping goes out on a tick, and its pong comes
        // back over the in-memory pipe in real time, well before the tick five seconds later that would time it out.
        for (int second = 0; second < 35; second++)
        {
            clock.Advance(TimeSpan.FromSeconds(1));
            await Task.Delay(50);
        }

        Assert.Empty(app.Logs.Events(4));
        await connection.SendTextAsync("still open");
        Assert.Equal("still open", (await connection.ReceiveAsync()).Text);
        Assert.Equal(WebSocketCloseStatus.NormalClosure, (await connection.CloseAsync()).CloseStatus);
    }

    // Pings after 10 s of silence, and gives up 5 s after a ping that nothing followed.
    private static Task<TestServerApp> StartAsync(ManualTimeProvider clock) =>
        TestServerApp.StartAsync(e => e.MapWibeSocket("/ws", Handlers.EchoAsync), new TestAppOptions
        {
            TimeProvider = clock,
            WibeSocket = o =>
            {
                o.KeepAliveInterval = TimeSpan.FromSeconds(10);
                o.KeepAliveTimeout = TimeSpan.FromSeconds(5);
            },
        });
}
