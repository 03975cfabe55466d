namespace Shockwave.Interop.Tests;

/// <summary>
/// Node's <c>ws</c> client (test/interop/ws-client.mjs) with <c>perMessageDeflate</c> against the server: its default
/// offer and each of its knobs, every echo byte-exact over several messages per connection (R7692-5-k, R7692-7.2.2-a/b).
/// </summary>
public sealed class NodeWsInteropTests(InteropServer server) : IClassFixture<InteropServer>
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);

    public static TheoryData<string, string> Variants() => new()
    {
        // ws's default offer is "permessage-deflate; client_max_window_bits"; threshold 0 so even 1 B is compressed.
        { "default", InteropServer.Deflate },
        { "serverNoContextTakeover", InteropServer.Deflate },
        { "clientNoContextTakeover", InteropServer.Deflate },
        { "serverMaxWindowBits10", InteropServer.Deflate },
        { "clientMaxWindowBits9", InteropServer.Deflate },
        { "default", InteropServer.DeflateAll },
        { "default", InteropServer.DeflateServerNoContext },
        { "default", InteropServer.DeflateClientNoContext },
        { "default", InteropServer.DeflateServerBits10 },
    };

    [Theory]
    [MemberData(nameof(Variants))]
    public async Task PerMessageDeflate_NegotiatesLegallyAndEchoesByteExact(string variant, string path)
    {
        await ExternalClient.RequireNodeWsAsync();
        var (options, offer) = Offer(variant);
        var payloads = Payload.Mix(seed: 1000 + variant.Length);

        var run = await RunAsync(path, options, payloads, Timeout);
        var summary = run.AssertSucceeded(payloads.Length);

        var answer = DeflateResponse.ParseLegal(summary.Extensions, offer);
        Assert.True(answer.ServerNoContextTakeover == (offer.ServerNoContextTakeover || path == InteropServer.DeflateServerNoContext), $"{summary.Extensions}\n{run}");
        Assert.True(answer.ClientNoContextTakeover == (offer.ClientNoContextTakeover || path == InteropServer.DeflateClientNoContext), $"{summary.Extensions}\n{run}");
        int expectedServerBits = Math.Min(offer.ServerMaxWindowBits ?? 15, path == InteropServer.DeflateServerBits10 ? 10 : 15);
        Assert.True(answer.ServerMaxWindowBits == (expectedServerBits == 15 ? null : expectedServerBits), $"{summary.Extensions}\n{run}");
    }

    [Fact]
    public async Task HugeMessages_CompressedEchoByteExact()
    {
        await ExternalClient.RequireNodeWsAsync();
        Payload[] payloads = [new(PayloadKind.RepeatedText, 100, 1), .. Payload.Huge(seed: 11), new(PayloadKind.RepeatedText, 100, 2)];
        var run = await RunAsync(InteropServer.Deflate, Offer("default").Options, payloads, TimeSpan.FromSeconds(45));
        var summary = run.AssertSucceeded(payloads.Length);
        DeflateResponse.ParseLegal(summary.Extensions, Offer("default").Offer);
    }

    [Fact]
    public async Task PlainEndpoint_DeclinesOffer_AndEchoesUncompressed()
    {
        await ExternalClient.RequireNodeWsAsync();
        var payloads = Payload.Mix(seed: 5);
        var run = await RunAsync(InteropServer.Plain, Offer("default").Options, payloads, Timeout);

        // R7692-5-i: no permessage-deflate element at all, and the connection runs uncompressed.
        Assert.True(run.AssertSucceeded(payloads.Length).Extensions is null, run.ToString());
    }

    private static (Dictionary<string, object> Options, DeflateOffer Offer) Offer(string variant)
    {
        var options = new Dictionary<string, object> { ["threshold"] = 0 };
        var offer = new DeflateOffer(ClientMaxWindowBitsOffered: true);
        switch (variant)
        {
            case "default":
                break;
            case "serverNoContextTakeover":
                options["serverNoContextTakeover"] = true;
                offer = offer with { ServerNoContextTakeover = true };
                break;
            case "clientNoContextTakeover":
                options["clientNoContextTakeover"] = true;
                offer = offer with { ClientNoContextTakeover = true };
                break;
            case "serverMaxWindowBits10":
                options["serverMaxWindowBits"] = 10;
                offer = offer with { ServerMaxWindowBits = 10 };
                break;
            case "clientMaxWindowBits9":
                options["clientMaxWindowBits"] = 9;
                offer = offer with { ClientMaxWindowBits = 9 };
                break;
            default:
                throw new ArgumentOutOfRangeException(nameof(variant), variant, null);
        }

        return (options, offer);
    }

    private Task<ClientRun> RunAsync(string path, Dictionary<string, object> perMessageDeflate, Payload[] payloads, TimeSpan timeout) =>
        ExternalClient.RunScriptAsync("node", "ws-client.mjs", new()
        {
            ["url"] = server.Url(path).ToString(),
            ["perMessageDeflate"] = perMessageDeflate,
            ["timeoutMs"] = (int)timeout.TotalMilliseconds,
        }, payloads, timeout);
}
