using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net.WebSockets;
using Microsoft.AspNetCore.Builder;
using Shockwave.Middleware.Tests.Support;

namespace Shockwave.Middleware.Tests.Integration;

/// <summary>Metric values checked exactly with a MeterListener, and activities with an ActivityListener.</summary>
public sealed class ObservabilityTests
{
    private static async Task Echo(WibeSocket socket, CancellationToken ct)
    {
        await foreach (var message in socket.ReadMessagesAsync(ct))
        {
            await socket.SendAsync(message, ct);
        }
    }

    [Fact]
    public async Task MessagesBytesAndTheClose_AreCountedExactly_WithEndpointAndCloseCodeTags()
    {
        await using var app = await KestrelApp.StartAsync(e => e.MapWibeSocket("/metered", Echo));
        using (var client = await ClientWebSocketExtensions.ConnectAsync(app.WebSocketUri("/metered")))
        {
            for (int i = 0; i < 3; i++)
            {
                await client.SendAsync(new byte[10], WebSocketMessageType.Binary, endOfMessage: true, CancellationToken.None);
                await client.ReceiveMessageAsync();
            }

            await client.CloseBoundedAsync((WebSocketCloseStatus)4001, "bye");
        }

        await Eventually.TrueAsync(() => app.Metrics.Records("shockwave.connections.closed").Count == 1, what: "the close is counted");
        Assert.Equal(3, app.Metrics.Records("shockwave.messages.received").Sum(r => r.Value));
        Assert.Equal(30, app.Metrics.Records("shockwave.bytes.received").Sum(r => r.Value));
        Assert.Equal(3, app.Metrics.Records("shockwave.messages.sent").Sum(r => r.Value));
        Assert.Equal(30, app.Metrics.Records("shockwave.bytes.sent").Sum(r => r.Value));
        Assert.All(app.Metrics.Records("shockwave.bytes.sent"), r => Assert.Equal("binary", r.Tag("shockwave.message_type")));

        var closed = Assert.Single(app.Metrics.Records("shockwave.connections.closed"));
        Assert.Equal("/metered", closed.Tag("shockwave.endpoint"));
        Assert.Equal("client_closed", closed.Tag("shockwave.close_reason"));
        Assert.Equal("4001", closed.Tag("websocket.close_code"));

        var active = app.Metrics.Records("shockwave.active_connections");
        Assert.Equal([1.0, -1.0], active.Select(r => r.Value));
        Assert.All(active, r => Assert.Equal("/metered", r.Tag("shockwave.endpoint")));
    }

    [Fact]
    public async Task TheUpgradeAndHubCallbacks_AreActivities_UnderTheRequestsActivity()
    {
        var activities = new ConcurrentQueue<Activity>();
        using var listener = new ActivityListener
        {
            ShouldListenTo = source => source.Name is "Shockwave" or "Microsoft.AspNetCore",
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
            ActivityStopped = activities.Enqueue,
        };
        ActivitySource.AddActivityListener(listener);

        await using var app = await KestrelApp.StartAsync(e => e.MapWibeSocket<TracedHub>("/traced"));
        using (var client = await ClientWebSocketExtensions.ConnectAsync(app.WebSocketUri("/traced")))
        {
            await client.SendTextAsync("hello");
            Assert.Equal("hello", System.Text.Encoding.UTF8.GetString((await client.ReceiveMessageAsync()).Payload));
            await client.CloseBoundedAsync();
        }

        await Eventually.TrueAsync(() => activities.Any(a => a.OperationName == "WibeSocket hub message" && (string?)a.GetTagItem("shockwave.hub") == nameof(TracedHub)), what: "the hub message activity");
        var upgrade = Assert.Single(activities, a => a.OperationName == "WibeSocket upgrade" && (string?)a.GetTagItem("shockwave.endpoint") == "/traced");
        Assert.Equal(101, upgrade.GetTagItem("http.response.status_code"));
        Assert.NotEqual(default, upgrade.ParentSpanId); // a child of the HTTP request's activity
        var message = activities.First(a => a.OperationName == "WibeSocket hub message" && (string?)a.GetTagItem("shockwave.hub") == nameof(TracedHub));
        Assert.Equal(upgrade.TraceId, message.TraceId);
    }

    public sealed class TracedHub : WibeSocketHub
    {
        public override Task OnMessageAsync(WibeSocketMessage message, CancellationToken cancellationToken) =>
            Socket.SendAsync(message, cancellationToken).AsTask();
    }
}
