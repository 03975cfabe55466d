namespace Shockwave.Interop.Tests;

/// <summary>
/// Python's <c>websockets</c> client (Debian's python3-websockets, test/interop/websockets_client.py), whose default
/// offer carries a bare <c>client_max_window_bits</c> (and, in recent versions, <c>server_max_window_bits=12</c>), against
/// the server; every echo byte-exact over several messages per connection (R7692-5-k).
/// </summary>
public sealed class PythonWebsocketsInteropTests(InteropServer server) : IClassFixture<InteropServer>
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);

    public static TheoryData<string, string> Variants() => new()
    {
        { "default", InteropServer.Deflate },
        { "default", InteropServer.DeflateAll },
        { "default", InteropServer.DeflateServerNoContext },
        { "default", InteropServer.DeflateClientNoContext },
        { "default", InteropServer.DeflateServerBits10 },
        { "serverNoContextTakeover", InteropServer.Deflate },
        { "clientNoContextTakeover", InteropServer.Deflate },
        { "serverMaxWindowBits10", InteropServer.Deflate },
        { "clientMaxWindowBits9", InteropServer.Deflate },
    };

    [Theory]
    [MemberData(nameof(Variants))]
    public async Task PerMessageDeflate_NegotiatesLegallyAndEchoesByteExact(string variant, string path)
    {
        await ExternalClient.RequirePythonWebsocketsAsync();
        var (deflate, offer) = Offer(variant);
        var payloads = Payload.Mix(seed: 2000 + variant.Length + path.Length);
        var run = await RunAsync(path, deflate, payloads, Timeout);
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
        await ExternalClient.RequirePythonWebsocketsAsync();
        Payload[] payloads = [new(PayloadKind.Json, 100, 1), .. Payload.Huge(seed: 21), new(PayloadKind.Json, 100, 2)];
        var run = await RunAsync(InteropServer.Deflate, null, payloads, TimeSpan.FromSeconds(45));
        Assert.NotNull(run.AssertSucceeded(payloads.Length).Extensions);
    }

    [Fact]
    public async Task PlainEndpoint_DeclinesOffer_AndEchoesUncompressed()
    {
        await ExternalClient.RequirePythonWebsocketsAsync();
        var payloads = Payload.Mix(seed: 6);
        var run = await RunAsync(InteropServer.Plain, null, payloads, Timeout);

        // R7692-5-i: no permessage-deflate element at all, and the connection runs uncompressed.
        Assert.True(run.AssertSucceeded(payloads.Length).Extensions is null, run.ToString());
    }

    // The default offer of websockets 10.x (Debian's) is "permessage-deflate; client_max_window_bits"; later versions
    // add server_max_window_bits=12, so the variants spell their offers out instead of relying on it.
    private static (Dictionary<string, object>? Deflate, DeflateOffer Offer) Offer(string variant) => variant switch
    {
        "default" => (null, new DeflateOffer(ClientMaxWindowBitsOffered: true)),
        "serverNoContextTakeover" => (new() { ["server_no_context_takeover"] = true }, new DeflateOffer(ServerNoContextTakeover: true, ClientMaxWindowBitsOffered: true)),
        "clientNoContextTakeover" => (new() { ["client_no_context_takeover"] = true }, new DeflateOffer(ClientNoContextTakeover: true, ClientMaxWindowBitsOffered: true)),
        "serverMaxWindowBits10" => (new() { ["server_max_window_bits"] = 10 }, new DeflateOffer(ServerMaxWindowBits: 10, ClientMaxWindowBitsOffered: true)),
        "clientMaxWindowBits9" => (new() { ["client_max_window_bits"] = 9 }, new DeflateOffer(ClientMaxWindowBitsOffered: true, ClientMaxWindowBits: 9)),
        _ => throw new ArgumentOutOfRangeException(nameof(variant), variant, null),
    };

    private Task<ClientRun> RunAsync(string path, Dictionary<string, object>? deflate, Payload[] payloads, TimeSpan timeout) =>
        ExternalClient.RunScriptAsync(ExternalClient.Python, "websockets_client.py", new()
        {
            ["url"] = server.Url(path).ToString(),
            ["compression"] = "deflate",
            ["deflate"] = deflate,
            ["timeout"] = timeout.TotalSeconds,
        }, payloads, timeout);
}
