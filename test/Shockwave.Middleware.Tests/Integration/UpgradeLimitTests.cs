using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Logging;
using Shockwave.Middleware.Tests.Support;

namespace Shockwave.Middleware.Tests.Integration;

/// <summary>Kestrel's MaxConcurrentUpgradedConnections reached: a 503 (Kestrel alone would answer 500), nothing upgraded.</summary>
public sealed class UpgradeLimitTests
{
    [Fact]
    public async Task UpgradeLimitReached_Is503_AndTheSlotIsReusedAfterwards()
    {
        await using var app = await KestrelApp.StartAsync(
            e => e.MapWibeSocket("/echo", Handlers.EchoAsync),
            new TestAppOptions { Kestrel = kestrel => kestrel.Limits.MaxConcurrentUpgradedConnections = 1 });

        using var first = await ClientWebSocketExtensions.ConnectAsync(app.WebSocketUri("/echo"));
        await first.SendTextAsync("holding the only slot");
        Assert.Equal("holding the only slot", (await first.ReceiveMessageAsync()).Text);

        await using (var second = await RawWebSocketClient.OpenAsync(app.Port))
        {
            var response = await second.SendRequestAsync(RawWebSocketClient.BuildRequest(app.Port, "/echo"));
            Assert.Equal(503, response.StatusCode);
            Assert.Null(response.Header("Sec-WebSocket-Accept"));
            Assert.Null(response.Header("Upgrade"));
        }

        var rejected = await app.Logs.WaitForEventAsync(100);
        Assert.Equal("UpgradeLimitReached", rejected.Value("Reason"));
        Assert.Single(app.Logs.Events(1));
        Assert.DoesNotContain(app.Logs.Records, r => r.Level >= LogLevel.Error);

        // Kestrel releases the slot when the first connection's request ends.
        await first.CloseBoundedAsync();
        await Eventually.TrueAsync(() => app.Logs.Events(2).Count == 1, what: "the first connection to end");
        RawWebSocketClient? third = null;
        var deadline = DateTime.UtcNow + Eventually.DefaultTimeout;
        while (third is null)
        {
            try
            {
                third = await RawWebSocketClient.ConnectAsync(app.Port, "/echo");
            }
            catch (InvalidOperationException) when (DateTime.UtcNow < deadline)
            {
                // Still 503: the slot is released just after the request ends.
                await Task.Delay(20);
            }
        }

        await using (third)
        {
            await third.SendTextAsync("slot reused");
            Assert.Equal("slot reused", (await third.ReceiveFrameAsync()).Text);
        }
    }
}
