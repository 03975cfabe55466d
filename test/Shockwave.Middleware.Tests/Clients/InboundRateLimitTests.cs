using System.Net.WebSockets;
using Microsoft.AspNetCore.Builder;
using Shockwave.Middleware.Tests.Support;
using Shockwave.Protocol;

namespace Shockwave.Middleware.Tests.Clients;

/// <summary>Per-connection inbound rate limits: a flooding client is closed (1008) or back-pressured; others are unaffected.</summary>
public sealed class InboundRateLimitTests
{
    private static async Task Echo(WibeSocket socket, CancellationToken ct)
    {
        await foreach (var message in socket.ReadMessagesAsync(ct))
        {
            await socket.SendAsync(message, ct);
        }
    }

    [Fact]
    public async Task OverTheMessageRate_WithTheClosePolicy_IsClosedWith1008_AndAnotherClientIsUnaffected()
    {
        await using var app = await KestrelApp.StartAsync(e => e.MapWibeSocket("/ws", Echo, o =>
        {
            o.InboundRateLimit.MessagesPerSecond = 20;
            o.InboundRateLimit.Policy = WibeSocketRateLimitPolicy.Close;
        }));

        await using var flooder = await RawWebSocketClient.ConnectAsync(app.Port, "/ws");
        using var polite = await ClientWebSocketExtensions.ConnectAsync(app.WebSocketUri("/ws"));

        // 100 messages in one burst: far over a bucket of 20.
        for (int i = 0; i < 100; i++)
        {
            await flooder.SendTextAsync("x");
        }

        RawFrame frame;
        do
        {
            frame = await flooder.ReceiveFrameAsync();
        }
        while (frame.Opcode != WebSocketOpcode.Close);

        Assert.Equal((ushort)1008, frame.CloseCode);

        await polite.SendTextAsync("still fine");
        Assert.Equal("still fine", System.Text.Encoding.UTF8.GetString((await polite.ReceiveMessageAsync()).Payload));
        await polite.CloseBoundedAsync();
    }

    [Fact]
    public async Task OverTheByteRate_WithBackPressure_EveryMessageStillArrives_InOrder()
    {
        await using var app = await KestrelApp.StartAsync(e => e.MapWibeSocket("/ws", Echo, o =>
        {
            o.InboundRateLimit.BytesPerSecond = 64 * 1024;
        }));

        using var client = await ClientWebSocketExtensions.ConnectAsync(app.WebSocketUri("/ws"));

        // 20 x 16 KiB = 5 buckets' worth: the server slows the client down instead of closing it.
        var sending = Task.Run(async () =>
        {
            for (int i = 0; i < 20; i++)
            {
                var payload = new byte[16 * 1024];
                payload[0] = (byte)i;
                await client.SendAsync(payload, WebSocketMessageType.Binary, endOfMessage: true, CancellationToken.None);
            }
        });

        for (int i = 0; i < 20; i++)
        {
            var echo = await client.ReceiveMessageAsync(TimeSpan.FromSeconds(30));
            Assert.Equal(16 * 1024, echo.Payload.Length);
            Assert.Equal((byte)i, echo.Payload[0]);
        }

        await sending;
        Assert.Equal(WebSocketState.Open, client.State);
        await client.CloseBoundedAsync();
    }

    [Fact]
    public async Task RateLimitOptions_AreValidatedAtStart()
    {
        var failure = await Assert.ThrowsAnyAsync<Exception>(() => KestrelApp.StartAsync(e => e.MapWibeSocket("/ws", Echo), new TestAppOptions
        {
            WibeSocket = o => o.InboundRateLimit.MessagesPerSecond = 0,
        }));

        Assert.Contains("MessagesPerSecond", failure.ToString());
    }
}
