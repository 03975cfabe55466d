using Shockwave.Protocol.Compression;
using Shockwave.Runtime.Tests.Support;

namespace Shockwave.Runtime.Tests;

/// <summary>The runtime in the client role talking to the runtime in the server role: the two ends of one product.</summary>
public sealed class ClientServerPairTests
{
    public static TheoryData<bool> Compression => [false, true];

    [Theory, MemberData(nameof(Compression))]
    public async Task EveryMessageSizeAndKind_RoundTrips_ThenTheClientCloses(bool compressed)
    {
        int[] sizes = [0, 1, 125, 126, 65535, 65536, 200_000];
        var received = new List<(WibeSocketMessageType, byte[])>();
        var (client, server) = RuntimeHarness.StartPair(
            client: async (socket, ct) =>
            {
                foreach (int size in sizes)
                {
                    await socket.SendAsync(Payload(size), size % 2 == 0 ? WibeSocketMessageType.Binary : WibeSocketMessageType.Text, ct);
                    var reply = await socket.ReceiveAsync(ct);
                    received.Add((reply.Type, reply.ToArray()));
                }

                await socket.CloseAsync(Protocol.WebSocketCloseStatus.NormalClosure, "done", ct);
                Assert.Equal(WibeSocketState.Closed, socket.State);
            },
            server: async (socket, ct) =>
            {
                await foreach (var message in socket.ReadMessagesAsync(ct))
                {
                    await socket.SendAsync(message, ct);
                }

                Assert.Equal(Protocol.WebSocketCloseStatus.NormalClosure, socket.CloseStatus);
            },
            compressed ? PerMessageDeflateParameters.Default : null);

        await Task.WhenAll(client, server).WaitAsync(TimeSpan.FromSeconds(30));
        Assert.Equal(sizes.Length, received.Count);
        for (int i = 0; i < sizes.Length; i++)
        {
            Assert.Equal(sizes[i] % 2 == 0 ? WibeSocketMessageType.Binary : WibeSocketMessageType.Text, received[i].Item1);
            Assert.Equal(Payload(sizes[i]), received[i].Item2);
        }
    }

    // ASCII, so every payload is valid as text too.
    private static byte[] Payload(int size) => Enumerable.Range(0, size).Select(i => (byte)('a' + (i % 26))).ToArray();
}
