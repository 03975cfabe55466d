using System.Buffers;
using System.Net.WebSockets;

namespace Shockwave.Interop.Tests;

/// <summary>
/// .NET's own <see cref="ClientWebSocket"/> with <see cref="ClientWebSocketOptions.DangerousDeflateOptions"/> against the
/// server: every window size the client supports (9..15; .NET refuses 8) on each side, both context-takeover switches,
/// and the server-policy endpoints. Each connection round-trips a mix of messages byte-exact in both directions
/// (R7692-5-k, R7692-6.1-a, R7692-6.2-a), so context takeover carries over between messages.
/// </summary>
public sealed class ClientWebSocketInteropTests(InteropServer server) : IClassFixture<InteropServer>
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);

    public static TheoryData<string, int, int, bool, bool> Offers()
    {
        var cases = new List<(string, int, int, bool, bool)>();

        // Each client window size, then each server window size (R7692-7.1.2.1-b, R7692-7.1.2.2-b, R7692-7.2.1-g).
        for (int bits = 9; bits <= 15; bits++)
        {
            cases.Add((InteropServer.Deflate, bits, 15, true, true));
            cases.Add((InteropServer.Deflate, 15, bits, true, true));
        }

        // Both context-takeover switches, with the widest and the narrowest windows (R7692-7.2.1-e, R7692-7.2.2-a/b).
        foreach (bool clientContext in new[] { true, false })
        {
            foreach (bool serverContext in new[] { true, false })
            {
                cases.Add((InteropServer.Deflate, 15, 15, clientContext, serverContext));
                cases.Add((InteropServer.Deflate, 9, 9, clientContext, serverContext));
            }
        }

        // Server policies that change the answer, against a plain and a demanding offer.
        foreach (string path in new[] { InteropServer.DeflateAll, InteropServer.DeflateServerNoContext, InteropServer.DeflateClientNoContext, InteropServer.DeflateServerBits10 })
        {
            cases.Add((path, 15, 15, true, true));
            cases.Add((path, 9, 12, false, true));
            cases.Add((path, 11, 9, true, false));
        }

        // The sweeps overlap at 15/15; each combination runs once.
        var data = new TheoryData<string, int, int, bool, bool>();
        foreach (var (path, clientBits, serverBits, clientContext, serverContext) in cases.Distinct())
        {
            data.Add(path, clientBits, serverBits, clientContext, serverContext);
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(Offers))]
    public async Task DeflateOffer_NegotiatesLegallyAndEchoesByteExact(string path, int clientBits, int serverBits, bool clientContextTakeover, bool serverContextTakeover)
    {
        using var cts = new CancellationTokenSource(Timeout);
        var deflate = new WebSocketDeflateOptions
        {
            ClientMaxWindowBits = clientBits,
            ServerMaxWindowBits = serverBits,
            ClientContextTakeover = clientContextTakeover,
            ServerContextTakeover = serverContextTakeover,
        };

        using var client = await ConnectAsync(path, deflate, cts.Token);

        // What .NET puts on the wire (WebSocketHandle.Managed): a bare client_max_window_bits at 15, values only below 15.
        var offer = new DeflateOffer(
            ServerNoContextTakeover: !serverContextTakeover,
            ClientNoContextTakeover: !clientContextTakeover,
            ServerMaxWindowBits: serverBits == 15 ? null : serverBits,
            ClientMaxWindowBitsOffered: true,
            ClientMaxWindowBits: clientBits == 15 ? null : clientBits);
        var answer = DeflateResponse.ParseLegal(ExtensionsHeader(client), offer);

        // The endpoint's policy shows in the answer; otherwise the offer is taken as made.
        int expectedServerBits = Math.Min(serverBits, path == InteropServer.DeflateServerBits10 ? 10 : 15);
        Assert.Equal(expectedServerBits == 15 ? null : expectedServerBits, answer.ServerMaxWindowBits);
        Assert.Equal(!serverContextTakeover || path == InteropServer.DeflateServerNoContext, answer.ServerNoContextTakeover);
        Assert.Equal(!clientContextTakeover || path == InteropServer.DeflateClientNoContext, answer.ClientNoContextTakeover);
        Assert.Equal(clientBits == 15 ? null : clientBits, answer.ClientMaxWindowBits);

        await EchoAsync(client, Payload.Mix(seed: clientBits * 100 + serverBits), cts.Token);
        await CloseAsync(client, cts.Token);
    }

    [Fact]
    public async Task HugeMessages_CompressedEchoByteExact()
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(45));
        using var client = await ConnectAsync(InteropServer.Deflate, new WebSocketDeflateOptions(), cts.Token);
        DeflateResponse.ParseLegal(ExtensionsHeader(client), new DeflateOffer(ClientMaxWindowBitsOffered: true));

        // 16 MiB compressible and random, after and before small ones so the window is carried across all of them.
        Payload[] payloads = [new(PayloadKind.Json, 1000, 1), .. Payload.Huge(seed: 7), new(PayloadKind.Json, 1000, 2)];
        await EchoAsync(client, payloads, cts.Token);
        await CloseAsync(client, cts.Token);
    }

    [Fact]
    public async Task PlainEndpoint_DeclinesOffer_AndEchoesUncompressed()
    {
        using var cts = new CancellationTokenSource(Timeout);
        using var client = await ConnectAsync(InteropServer.Plain, new WebSocketDeflateOptions { ClientMaxWindowBits = 10 }, cts.Token);

        // R7692-5-i: declining is answering with no permessage-deflate element at all.
        Assert.Null(ExtensionsHeader(client));
        await EchoAsync(client, Payload.Mix(seed: 3), cts.Token);
        await CloseAsync(client, cts.Token);
    }

    private async Task<ClientWebSocket> ConnectAsync(string path, WebSocketDeflateOptions deflate, CancellationToken cancellationToken)
    {
        var client = new ClientWebSocket();
        client.Options.DangerousDeflateOptions = deflate;
        client.Options.CollectHttpResponseDetails = true;
        try
        {
            await client.ConnectAsync(server.Url(path), cancellationToken);
            return client;
        }
        catch
        {
            client.Dispose();
            throw;
        }
    }

    private static string? ExtensionsHeader(ClientWebSocket client)
    {
        var headers = client.HttpResponseHeaders ?? throw new InvalidOperationException("No response headers were collected.");
        var values = headers.Where(h => h.Key.Equals("Sec-WebSocket-Extensions", StringComparison.OrdinalIgnoreCase)).SelectMany(h => h.Value).ToList();
        return values.Count == 0 ? null : string.Join(", ", values);
    }

    private static async Task EchoAsync(ClientWebSocket client, Payload[] payloads, CancellationToken cancellationToken)
    {
        var received = new ArrayBufferWriter<byte>();
        for (int i = 0; i < payloads.Length; i++)
        {
            var payload = payloads[i];
            var type = payload.IsText ? WebSocketMessageType.Text : WebSocketMessageType.Binary;

            // Every other large message goes out in three frames: a compressed message spread over continuations.
            if (payload.Size >= 3 && i % 2 == 1)
            {
                int third = payload.Size / 3;
                await client.SendAsync(payload.Data.AsMemory(0, third), type, endOfMessage: false, cancellationToken);
                await client.SendAsync(payload.Data.AsMemory(third, third), type, endOfMessage: false, cancellationToken);
                await client.SendAsync(payload.Data.AsMemory(2 * third), type, endOfMessage: true, cancellationToken);
            }
            else
            {
                await client.SendAsync(payload.Data, type, endOfMessage: true, cancellationToken);
            }

            received.ResetWrittenCount();
            ValueWebSocketReceiveResult result;
            do
            {
                result = await client.ReceiveAsync(received.GetMemory(64 * 1024), cancellationToken);
                received.Advance(result.Count);
            }
            while (!result.EndOfMessage && result.MessageType != WebSocketMessageType.Close);

            Assert.True(type == result.MessageType, $"message {i} ({payload}): sent {type}, echoed {result.MessageType}");
            Assert.True(payload.Data.AsSpan().SequenceEqual(received.WrittenSpan), $"message {i} ({payload}): echo of {received.WrittenCount} bytes differs");
        }
    }

    private static async Task CloseAsync(ClientWebSocket client, CancellationToken cancellationToken)
    {
        await client.CloseAsync(WebSocketCloseStatus.NormalClosure, "done", cancellationToken);
        Assert.Equal(WebSocketCloseStatus.NormalClosure, client.CloseStatus);
    }
}
