using Microsoft.AspNetCore.Builder;
using System.Buffers.Binary;
using System.Net.WebSockets;
using Microsoft.Extensions.DependencyInjection;
using Shockwave.Middleware.Tests.Support;

namespace Shockwave.Middleware.Tests.Clients;

/// <summary>
/// One receiver that stops reading must not stall a broadcast, nor make the server buffer without bound: 1 sender, 50
/// reading receivers and 1 receiver that never reads (a raw socket with a small receive buffer). Counts deliveries and
/// order, never elapsed time. The sender stays at most <see cref="Window"/> messages ahead of the slowest reading
/// receiver, as a real publisher paced by its subscribers' acknowledgements would: a broadcast never waits, so a
/// sender that outruns every reader would (rightly) make them all slow consumers.
/// </summary>
public sealed class SlowConsumerTests
{
    private const int Receivers = 50;
    private const int Messages = 2_000;
    private const int MessageSize = 16 * 1024;
    private const long Budget = 1024 * 1024;
    private const int Window = 16; // 256 KiB in flight: well inside the budget of a receiver that reads

    public static TheoryData<bool, WibeSocketSlowConsumerPolicy> Cases => new()
    {
        { false, WibeSocketSlowConsumerPolicy.Close },
        { true, WibeSocketSlowConsumerPolicy.Close },
        { false, WibeSocketSlowConsumerPolicy.Drop },
    };

    // The Echo sample's /broadcast: every message to every other connection, through the broadcast API.
    private static async Task Relay(WibeSocket socket, CancellationToken ct)
    {
        var clients = socket.Clients;
        string[] self = [socket.ConnectionId];
        await foreach (var message in socket.ReadMessagesAsync(ct))
        {
            using var prepared = WibeSocketPreparedMessage.Create(message);
            await clients.SendToAllExceptAsync(prepared, self, ct);
        }
    }

    [Theory, MemberData(nameof(Cases))]
    public async Task ReadingReceiversGetEverythingInOrder_TheStalledOneGetsThePolicy_MemoryStaysBounded(bool compression, WibeSocketSlowConsumerPolicy policy)
    {
        await using var app = await KestrelApp.StartAsync(e => e.MapWibeSocket("/broadcast", Relay, o =>
        {
            o.Compression.Enabled = compression;
            o.Compression.ServerNoContextTakeover = true; // so compressed frames are shared (docs/broadcast.md)
            o.SendQueueLimit = Budget;
            o.SlowConsumerPolicy = policy;
            o.CloseTimeout = TimeSpan.FromSeconds(1);
        }));
        var clients = app.Services.GetRequiredService<IWibeSocketClientsProvider>().GetClients("/broadcast");

        await using var stalled = await RawWebSocketClient.ConnectAsync(app.Port, "/broadcast", receiveBufferSize: 4096);
        var receivers = new ClientWebSocket[Receivers];
        for (int i = 0; i < Receivers; i++)
        {
            receivers[i] = await ClientWebSocketExtensions.ConnectAsync(app.WebSocketUri("/broadcast"), o =>
            {
                if (compression)
                {
                    o.DangerousDeflateOptions = new WebSocketDeflateOptions();
                }
            });
        }

        using var sender = await ClientWebSocketExtensions.ConnectAsync(app.WebSocketUri("/broadcast"));
        await Eventually.TrueAsync(() => clients.ConnectionCount == Receivers + 2, what: "everyone connected");

        var progress = new int[Receivers];
        var receiving = receivers.Select((receiver, i) => ReceiveAllInOrderAsync(receiver, progress, i)).ToArray();
        var payload = new byte[MessageSize];
        for (int sequence = 0; sequence < Messages; sequence++)
        {
            while (sequence - MinProgress(progress) >= Window)
            {
                await Task.Delay(1);
            }

            BinaryPrimitives.WriteInt32BigEndian(payload, sequence);
            payload.AsSpan(4).Fill((byte)'a'); // compressible
            using var timeout = new CancellationTokenSource(Eventually.DefaultTimeout);
            await sender.SendAsync(payload, WebSocketMessageType.Binary, endOfMessage: true, timeout.Token);
        }

        int[] counts = await Task.WhenAll(receiving).WaitAsync(TimeSpan.FromMinutes(2));
        Assert.All(counts, count => Assert.Equal(Messages, count));

        // The stalled receiver got the policy, once logged, and the queued bytes never passed budget x connections.
        Assert.Single(app.Logs.Events(151));
        var overflows = app.Metrics.Records("shockwave.send_queue.overflows");
        Assert.NotEmpty(overflows);
        Assert.All(overflows, r => Assert.Equal(policy == WibeSocketSlowConsumerPolicy.Close ? "close" : "drop", r.Tag("shockwave.slow_consumer.policy")));
        double queued = 0, peak = 0;
        foreach (var change in app.Metrics.Records("shockwave.send_queue.size"))
        {
            queued += change.Value;
            peak = Math.Max(peak, queued);
        }

        Assert.True(peak <= Budget * (Receivers + 2) + MessageSize * 4, $"peak queued {peak} bytes");
        if (policy == WibeSocketSlowConsumerPolicy.Close)
        {
            // Past the close timeout (it cannot read our close), the stalled connection is gone; nobody else is.
            await Eventually.TrueAsync(() => clients.ConnectionCount == Receivers + 1, what: "the slow consumer closed");
            Assert.Single(overflows);
        }
        else
        {
            Assert.Equal(Receivers + 2, clients.ConnectionCount);
            Assert.True(overflows.Count > 1);
        }

        // Everything queued was written or released: only the open stalled receiver (drop policy) may still hold its budget.
        long allowed = policy == WibeSocketSlowConsumerPolicy.Drop ? Budget + MessageSize : 0;
        await Eventually.TrueAsync(() => app.Metrics.Records("shockwave.send_queue.size").Sum(r => r.Value) <= allowed, what: "queued bytes released");
        foreach (var receiver in receivers)
        {
            await receiver.CloseBoundedAsync();
        }

        await sender.CloseBoundedAsync();
    }

    private static int MinProgress(int[] progress)
    {
        int min = int.MaxValue;
        for (int i = 0; i < progress.Length; i++)
        {
            min = Math.Min(min, Volatile.Read(ref progress[i]));
        }

        return min;
    }

    private static async Task<int> ReceiveAllInOrderAsync(ClientWebSocket socket, int[] progress, int index)
    {
        var buffer = new byte[MessageSize + 1];
        int expected = 0;
        while (expected < Messages)
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
            int length = 0;
            ValueWebSocketReceiveResult result;
            do
            {
                result = await socket.ReceiveAsync(buffer.AsMemory(length), timeout.Token);
                length += result.Count;
            }
            while (!result.EndOfMessage);

            Assert.Equal(MessageSize, length);
            Assert.Equal(expected, BinaryPrimitives.ReadInt32BigEndian(buffer));
            expected++;
            Volatile.Write(ref progress[index], expected);
        }

        return expected;
    }
}
