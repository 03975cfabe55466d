using System.Buffers.Binary;
using System.Net.WebSockets;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Shockwave.Middleware.Tests.Support;

namespace Shockwave.Middleware.Tests.Clients;

/// <summary>
/// Joins and leaves racing a stream of group sends: members that stayed in the group get every message once, in order;
/// members that came and went never get one twice or out of order.
/// </summary>
public sealed class MembershipStressTests
{
    private const int Stable = 5;
    private const int Churners = 5;
    private const int Messages = 500;

    private static async Task Introduce(WibeSocket socket, CancellationToken ct)
    {
        await socket.SendTextAsync(socket.ConnectionId, ct);
        await foreach (var _ in socket.ReadMessagesAsync(ct))
        {
        }
    }

    [Fact]
    public async Task ConcurrentJoinLeaveAndGroupSends_LoseAndDuplicateNothingForMembersThatStayed()
    {
        await using var app = await KestrelApp.StartAsync(e => e.MapWibeSocket("/ws", Introduce, o => o.SendQueueLimit = 64 * 1024 * 1024));
        var clients = app.Services.GetRequiredService<IWibeSocketClientsProvider>().GetClients("/ws");
        var stable = new (ClientWebSocket Socket, string Id)[Stable];
        var churners = new (ClientWebSocket Socket, string Id)[Churners];
        for (int i = 0; i < Stable + Churners; i++)
        {
            var socket = await ClientWebSocketExtensions.ConnectAsync(app.WebSocketUri("/ws"));
            var id = System.Text.Encoding.UTF8.GetString((await socket.ReceiveMessageAsync()).Payload);
            if (i < Stable)
            {
                stable[i] = (socket, id);
                await clients.AddToGroupAsync(id, "room");
            }
            else
            {
                churners[i - Stable] = (socket, id);
            }
        }

        var receiving = stable.Concat(churners).Select(c => ReceiveSequencesAsync(c.Socket)).ToArray();
        using var stop = new CancellationTokenSource();
        var churning = Task.Run(async () =>
        {
            var random = new Random(7);
            while (!stop.IsCancellationRequested)
            {
                var (_, id) = churners[random.Next(Churners)];
                if (random.Next(2) == 0)
                {
                    await clients.AddToGroupAsync(id, "room");
                }
                else
                {
                    await clients.RemoveFromGroupAsync(id, "room");
                }
            }
        });

        var payload = new byte[8];
        for (int sequence = 0; sequence < Messages; sequence++)
        {
            BinaryPrimitives.WriteInt32BigEndian(payload, sequence);
            using var message = WibeSocketPreparedMessage.Create(payload, WibeSocketMessageType.Binary);
            var result = await clients.SendToGroupAsync("room", message);
            Assert.True(result.Queued >= Stable, $"message {sequence} reached {result.Queued} members");
            Assert.Equal(0, result.Dropped + result.Closed + result.Skipped);
        }

        await stop.CancelAsync();
        await churning;

        // A last marker to everyone ends each receiver's stream.
        using (var end = WibeSocketPreparedMessage.Create(BitConverter.GetBytes(-1), WibeSocketMessageType.Binary))
        {
            await clients.SendToAllAsync(end);
        }

        var sequences = await Task.WhenAll(receiving).WaitAsync(TimeSpan.FromSeconds(60));
        for (int i = 0; i < Stable; i++)
        {
            Assert.Equal(Enumerable.Range(0, Messages), sequences[i]);
        }

        for (int i = Stable; i < Stable + Churners; i++)
        {
            Assert.Equal(sequences[i].Distinct().Order(), sequences[i]); // once each, in order
        }

        foreach (var (socket, _) in stable.Concat(churners))
        {
            await socket.CloseBoundedAsync();
        }
    }

    private static async Task<List<int>> ReceiveSequencesAsync(ClientWebSocket socket)
    {
        var received = new List<int>();
        while (true)
        {
            var message = await socket.ReceiveMessageAsync(TimeSpan.FromSeconds(60));
            if (message.Payload.Length == 4 && BitConverter.ToInt32(message.Payload) == -1)
            {
                return received;
            }

            received.Add(BinaryPrimitives.ReadInt32BigEndian(message.Payload));
        }
    }
}
