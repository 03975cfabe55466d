using Microsoft.AspNetCore.Builder;
using System.Buffers;
using System.Net.WebSockets;
using Microsoft.Extensions.DependencyInjection;
using Shockwave.Clients;
using Shockwave.Middleware.Tests.Support;

namespace Shockwave.Middleware.Tests.Clients;

/// <summary>A broadcast frames its message once: every recipient writes the same pooled bytes, which go back to the pool
/// when the last one is done, including when a recipient disconnects mid-write.</summary>
public sealed class FrameOnceTests
{
    private static async Task ReadForever(WibeSocket socket, CancellationToken ct)
    {
        await foreach (var _ in socket.ReadMessagesAsync(ct))
        {
        }
    }

    [Fact]
    public async Task RecipientsShareOneBuffer_ReturnedAfterTheBroadcast_AndAfterAStalledRecipientLeaves()
    {
        // A budget wide enough that the stalled recipient keeps its queue (and its references) until it leaves.
        await using var app = await KestrelApp.StartAsync(e => e.MapWibeSocket("/ws", ReadForever, o => o.SendQueueLimit = 64 * 1024 * 1024));
        var clients = (EndpointConnections)app.Services.GetRequiredService<IWibeSocketClientsProvider>().GetClients("/ws");
        var readers = new ClientWebSocket[3];
        for (int i = 0; i < readers.Length; i++)
        {
            readers[i] = await ClientWebSocketExtensions.ConnectAsync(app.WebSocketUri("/ws"));
        }

        var stalled = await RawWebSocketClient.ConnectAsync(app.Port, "/ws", receiveBufferSize: 4096);
        await Eventually.TrueAsync(() => clients.ConnectionCount == 4, what: "everyone connected");

        var pool = new CountingPool();
        var payload = new byte[64 * 1024];
        var message = WibeSocketPreparedMessage.Create(new ReadOnlySequence<byte>(payload), WibeSocketMessageType.Binary, pool);
        const int Rounds = 200; // 12.5 MiB: far more than the stalled socket and its kernel buffers take
        for (int i = 0; i < Rounds; i++)
        {
            var result = await clients.SendToAllAsync(message);
            Assert.Equal(4, result.Queued);
        }

        message.Dispose();
        Assert.Equal(1, pool.Rented); // one frame for 4 recipients x 200 sends

        foreach (var reader in readers)
        {
            for (int i = 0; i < Rounds; i++)
            {
                Assert.Equal(payload.Length, (await reader.ReceiveMessageAsync()).Payload.Length);
            }
        }

        // The stalled recipient still holds a reference through its queue: the buffer is not back yet.
        Assert.Equal(0, pool.Returned);

        // It disconnects mid-write: its queue is released and the buffer returns.
        await stalled.DisposeAsync();
        await Eventually.TrueAsync(() => pool.Returned == 1, what: "the frame's buffer returned to the pool");
        foreach (var reader in readers)
        {
            await reader.CloseBoundedAsync();
        }
    }

    [Fact]
    public async Task SendAfterClose_IsAClearException_ButABroadcastSkipsTheClosedRecipient()
    {
        var closed = new TaskCompletionSource<Exception?>(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var app = await KestrelApp.StartAsync(e => e.MapWibeSocket("/ws", async (socket, ct) =>
        {
            await socket.CloseAsync(Protocol.WebSocketCloseStatus.NormalClosure, null, ct);
            closed.SetResult(await Record.ExceptionAsync(async () => await socket.SendTextAsync("late", ct)));
        }));

        using var client = await ClientWebSocketExtensions.ConnectAsync(app.WebSocketUri("/ws"));
        var close = await client.ReceiveMessageAsync();
        Assert.Equal(WebSocketMessageType.Close, close.Type);
        await client.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, null, CancellationToken.None);
        Assert.IsType<WibeSocketClosedException>(await closed.Task.WaitAsync(Eventually.DefaultTimeout));
    }

    private sealed class CountingPool : ArrayPool<byte>
    {
        private int _rented;
        private int _returned;

        public int Rented => Volatile.Read(ref _rented);

        public int Returned => Volatile.Read(ref _returned);

        public override byte[] Rent(int minimumLength)
        {
            Interlocked.Increment(ref _rented);
            return new byte[minimumLength];
        }

        public override void Return(byte[] array, bool clearArray = false) => Interlocked.Increment(ref _returned);
    }
}
