using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using System.Net.WebSockets;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace Shockwave.Backplane.Redis.Tests;

/// <summary>
/// What users are burned by: Redis down at start, killed with SIGKILL under traffic, and messages lost between nodes.
/// Connections never close because of the broker; the loss is reported, never silent.
/// </summary>
public sealed class BrokerFaultTests
{
    private const string Hub = "Shockwave.Backplane.Redis.Tests.RoomHub";

    [Fact]
    public async Task RedisDownAtStart_TheAppStarts_LocalDeliveryWorks_AndHealthIsDegradedUntilRedisComes()
    {
        int port = RedisServer.FreePort();
        await using var node = await BackplaneNode.StartAsync($"127.0.0.1:{port},connectTimeout=500", "down", "node-a");
        await using var client = await node.ConnectAsync();

        var result = await node.Clients.SendToAllAsync("local only");
        Assert.Equal(1, result.Queued);
        Assert.Equal(WibeSocketRemoteDelivery.NotDelivered, result.Remote);
        Assert.Equal("local only", await client.ReceiveAsync());
        Assert.Equal(HealthStatus.Degraded, await node.BackplaneHealthAsync());
        Assert.Equal(WebSocketState.Open, client.State);
    }

    [Fact]
    public async Task SendsDuringAnOutage_LogOneWarning_NotOnePerMessage()
    {
        // Regression: every send while Redis was unreachable logged a warning of its own.
        int port = RedisServer.FreePort();
        var logs = new WarningCollector();
        await using var node = await BackplaneNode.StartAsync($"127.0.0.1:{port},connectTimeout=500", "down", "node-a", logs: logs);
        for (int i = 0; i < 50; i++)
        {
            Assert.Equal(WibeSocketRemoteDelivery.NotDelivered, (await node.Clients.SendToAllAsync("x")).Remote);
        }

        Assert.Equal(1, logs.Warnings.Count(e => e.Name == "BackplaneNotDelivered"));
    }

    [Fact]
    public async Task UnreachableStatus_IsConfigurable()
    {
        int port = RedisServer.FreePort();
        await using var node = await BackplaneNode.StartAsync($"127.0.0.1:{port},connectTimeout=500", "down", "node-a", o => o.UnreachableStatus = HealthStatus.Unhealthy);
        Assert.Equal(HealthStatus.Unhealthy, await node.BackplaneHealthAsync());
    }

    [Fact]
    public async Task RedisKilledAndRestarted_ConnectionsStayUp_DeliveryResumes_AndTheGapIsReported()
    {
        await using var redis = await RedisServer.StartAsync();
        var gaps = new ConcurrentQueue<WibeSocketBackplaneGap>();
        await using var a = await BackplaneNode.StartAsync(redis.ConnectionString, "restart", "node-a");
        await using var b = await BackplaneNode.StartAsync(redis.ConnectionString, "restart", "node-b", o => o.OnGap = (gap, _) =>
        {
            gaps.Enqueue(gap);
            return ValueTask.CompletedTask;
        });
        await using var onA = await a.ConnectAsync();
        await using var onB = await b.ConnectAsync();
        await RedisAdmin.WaitForSubscribersAsync(redis, $"restart:{Hub}:all", 2);
        await a.Clients.SendToAllAsync("before");
        Assert.Equal("before", await onA.ReceiveAsync());
        Assert.Equal("before", await onB.ReceiveAsync());
        Assert.Equal(HealthStatus.Healthy, await b.BackplaneHealthAsync());

        await redis.KillAsync();

        // While Redis is gone: sends complete promptly, report the remote part, and local recipients still get them.
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(10);
        WibeSocketDeliveryResult during;
        do
        {
            during = await a.Clients.SendToAllAsync("during").AsTask().WaitAsync(TimeSpan.FromSeconds(3));
            Assert.Equal("during", await onA.ReceiveAsync());
        }
        while (during.Remote != WibeSocketRemoteDelivery.NotDelivered && DateTime.UtcNow < deadline);
        Assert.Equal(WibeSocketRemoteDelivery.NotDelivered, during.Remote);
        Assert.Equal(HealthStatus.Degraded, await b.BackplaneHealthAsync());

        await redis.RestartAsync();

        // Delivery resumes by itself within seconds: the multiplexer reconnects and our channels are subscribed again.
        var resumed = DateTime.UtcNow + TimeSpan.FromSeconds(10);
        string? received = null;
        while (received != "after" && DateTime.UtcNow < resumed)
        {
            await a.Clients.SendToAllAsync("after");
            Assert.Equal("after", await onA.ReceiveAsync());
            try
            {
                do
                {
                    received = await onB.ReceiveAsync(TimeSpan.FromMilliseconds(250));
                }
                while (received != "after");
            }
            catch (OperationCanceledException)
            {
            }
        }

        Assert.Equal("after", received);
        Assert.Equal(WebSocketState.Open, onA.State);
        Assert.Equal(WebSocketState.Open, onB.State);
        Assert.Equal(HealthStatus.Healthy, await b.BackplaneHealthAsync());
        Assert.Contains(gaps, gap => gap.Reason == WibeSocketBackplaneGapReason.ConnectionLost && gap.Endpoint == Hub && gap.AffectedConnectionIds.Contains(onB.Id));
    }

    [Fact]
    public async Task AMessageLostBetweenNodes_IsReportedAsASequenceGap_AndTheCallbackCanCloseTheAffectedConnections()
    {
        await using var redis = await RedisServer.StartAsync();
        var dropping = new DroppingTransport.Switch();
        var gaps = new ConcurrentQueue<WibeSocketBackplaneGap>();
        using var meter = new GapCounter();
        await using var a = await BackplaneNode.StartAsync(redis.ConnectionString, "gaps", "node-a", wrapTransport: (_, inner) => new DroppingTransport(inner, dropping));
        await using var b = await BackplaneNode.StartAsync(redis.ConnectionString, "gaps", "node-b", o => o.OnGap = (gap, _) =>
        {
            gaps.Enqueue(gap);
            gap.CloseAffectedConnections();
            return ValueTask.CompletedTask;
        });
        await using var inRoom = await b.ConnectAsync();
        await using var elsewhere = await b.ConnectAsync();
        await b.Clients.AddToGroupAsync(inRoom.Id, "room");
        await RedisAdmin.WaitForSubscribersAsync(redis, $"gaps:{Hub}:g:room", 1);

        await a.Clients.SendToGroupAsync("room", "1");
        dropping.DropNext = 2; // the broker loses two messages
        await a.Clients.SendToGroupAsync("room", "2");
        await a.Clients.SendToGroupAsync("room", "3");
        await a.Clients.SendToGroupAsync("room", "4");

        Assert.Equal(["1", "4"], await inRoom.DrainAsync(TimeSpan.FromMilliseconds(500)));
        var gap = Assert.Single(gaps);
        Assert.Equal(WibeSocketBackplaneGapReason.SequenceGap, gap.Reason);
        Assert.Equal(WibeSocketBackplaneGapScope.Group, gap.Scope);
        Assert.Equal("room", gap.Key);
        Assert.Equal("node-a", gap.SenderNodeId);
        Assert.Equal(2, gap.MissedMessages);
        Assert.Equal(1, meter.SequenceGaps);

        // The application chose to close the group's members with 1012; nobody else was touched.
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(5);
        while (inRoom.CloseStatus is null && DateTime.UtcNow < deadline)
        {
            await Task.Delay(20);
        }

        Assert.Equal((WebSocketCloseStatus)1012, inRoom.CloseStatus); // Service Restart
        Assert.Equal(WebSocketState.Open, elsewhere.State);
    }

    [Fact]
    public async Task InvalidOptions_FailTheStart()
    {
        await using var redis = await RedisServer.StartAsync();
        var error = await Assert.ThrowsAnyAsync<Microsoft.Extensions.Options.OptionsValidationException>(() =>
            BackplaneNode.StartAsync(redis.ConnectionString, "bad prefix!", "node-a"));
        Assert.Contains("ChannelPrefix", error.Message, StringComparison.Ordinal);
    }

    /// <summary>A broker that loses messages on demand: it reports them published and sends nothing.</summary>
    private sealed class DroppingTransport(IWibeSocketBackplaneTransport inner, DroppingTransport.Switch drop) : IWibeSocketBackplaneTransport
    {
        public bool IsConnected => inner.IsConnected;

        public Task StartAsync(IWibeSocketBackplaneReceiver receiver, CancellationToken cancellationToken) => inner.StartAsync(receiver, cancellationToken);

        public ValueTask<bool> PublishAsync(string channel, ReadOnlyMemory<byte> message, CancellationToken cancellationToken)
        {
            if (drop.DropNext > 0)
            {
                drop.DropNext--;
                return ValueTask.FromResult(true);
            }

            return inner.PublishAsync(channel, message, cancellationToken);
        }

        public Task SubscribeAsync(string channel, CancellationToken cancellationToken) => inner.SubscribeAsync(channel, cancellationToken);

        public Task UnsubscribeAsync(string channel, CancellationToken cancellationToken) => inner.UnsubscribeAsync(channel, cancellationToken);

        public ValueTask DisposeAsync() => inner.DisposeAsync();

        public sealed class Switch
        {
            public int DropNext { get; set; }
        }
    }

    private sealed class GapCounter : IDisposable
    {
        private readonly MeterListener _listener = new();
        private int _sequenceGaps;

        public GapCounter()
        {
            _listener.InstrumentPublished = (instrument, listener) =>
            {
                if (instrument.Name == "shockwave.backplane.gaps")
                {
                    listener.EnableMeasurementEvents(instrument);
                }
            };
            _listener.SetMeasurementEventCallback<long>((_, value, tags, _) =>
            {
                foreach (var tag in tags)
                {
                    if (tag.Key == "shockwave.backplane.gap_reason" && (string?)tag.Value == "sequence_gap")
                    {
                        Interlocked.Add(ref _sequenceGaps, (int)value);
                    }
                }
            });
            _listener.Start();
        }

        public int SequenceGaps => Volatile.Read(ref _sequenceGaps);

        public void Dispose() => _listener.Dispose();
    }
}
