using Shockwave.Tests.Shared;
using Microsoft.AspNetCore.Builder;
using Shockwave.Middleware.Tests.Support;

namespace Shockwave.Middleware.Tests.TestServerTests;

/// <summary>Keep-alive on the in-memory path, on the manual clock.</summary>
public sealed class KeepAliveInMemoryTests
{
    [Fact]
    public async Task SilentPeer_GetsPing_ThenIsAbortedWithoutPong()
    {
        var clock = new ManualTimeProvider();
        await using var app = await TestServerApp.StartAsync(e => e.MapWibeSocket("/ws", Handlers.EchoAsync), new TestAppOptions
        {
            TimeProvider = clock,
            WibeSocket = o =>
            {
                o.KeepAliveInterval = TimeSpan.FromSeconds(10);
                o.KeepAliveTimeout = TimeSpan.FromSeconds(5);
            },
        });
        var client = app.CreateClient();
        client.AutoPong = false;
        await using var connection = await client.ConnectAsync("/ws");

        // A round trip proves the connection is registered with the heartbeat before the clock moves.
        await connection.SendTextAsync("sync");
        Assert.Equal("sync", (await connection.ReceiveAsync()).Text);

        clock.Advance(TimeSpan.FromSeconds(10));
        Assert.Equal(WibeSocketMessageType.Ping, (await connection.ReceiveAsync()).Type);

        clock.Advance(TimeSpan.FromSeconds(5));
        await app.Logs.WaitForEventAsync(4);
        await Assert.ThrowsAsync<EndOfStreamException>(() => connection.ReceiveAsync());
    }
}
