using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Xunit.Abstractions;

namespace Shockwave.Interop.Tests;

/// <summary>
/// A real browser: Debian's headless Chromium, driven by playwright-core (test/interop/browser-client.mjs), loads
/// test/interop/browser.html from the server and talks to <c>/echo</c> and <c>/echo-deflate</c> on the same origin with
/// the browser's own WebSocket. Every echo must come back byte-exact and of the same type (digests checked here against
/// content generated independently), permessage-deflate must be negotiated legally on <c>/echo-deflate</c> (Chromium
/// always offers it) and not at all on <c>/echo</c>, and the browser's close with 4000 "bye" must reach the server as
/// sent and be answered with 4000 in a clean closing handshake.
/// </summary>
public sealed class BrowserTests(InteropServer server, ITestOutputHelper output) : IClassFixture<InteropServer>
{
    private static readonly TimeSpan PageTimeout = TimeSpan.FromSeconds(60);

    // Around the 7- and 16-bit length encodings, 64 KiB, and one 1 MiB message.
    private static readonly int[] Sizes = [0, 1, 125, 126, 65535, 64 * 1024, 1024 * 1024];

    // As browser.html sends them, in this order, for each endpoint.
    private static readonly string[] Kinds = ["random-binary", "zeros-binary", "random-text", "repeated-text"];

    private static readonly string[] Endpoints = [InteropServer.Plain, InteropServer.Deflate];

    private static readonly string[] TextCharacters = ["a", "Z", "7", " ", "\u00e9", "\u00df", "\u20ac", "\u8a9e", "\U0001F600"];

    private const int FirstSeed = 1000;

    private static readonly JsonSerializerOptions Json = new() { PropertyNameCaseInsensitive = true };

    [Fact]
    public async Task HeadlessChromium_EchoesTextAndBinary_NegotiatesDeflate_AndClosesWithCodeAndReason()
    {
        await ExternalClient.RequireChromiumAsync();
        string runName = $"browser-{Guid.NewGuid():N}";
        var page = server.HttpUrl(string.Create(
            CultureInfo.InvariantCulture,
            $"{InteropServer.BrowserPage}?sizes={string.Join(',', Sizes)}&seed={FirstSeed}&timeoutMs={(int)PageTimeout.TotalMilliseconds}&run={runName}"));

        // The page's own timeout reports first, then the script's; this one kills a hung node and its browser.
        var run = await ExternalClient.RunAsync(
            "node",
            [Path.Combine(ExternalClient.InteropDirectory, "browser-client.mjs"), page.ToString(), ((int)PageTimeout.TotalMilliseconds).ToString(CultureInfo.InvariantCulture)],
            PageTimeout + TimeSpan.FromSeconds(45));

        var summary = Parse(run);
        output.WriteLine($"{summary.Results?.UserAgent}; ms since start: {string.Join(", ", (summary.Timings ?? []).Select(t => $"{t.Key} {t.Value}"))}");
        foreach (var endpoint in summary.Results?.Endpoints ?? [])
        {
            output.WriteLine($"{endpoint.Path}: {endpoint.Messages.Count} echoes in {endpoint.ElapsedMs} ms, extensions '{endpoint.Extensions}', close {endpoint.Close}");
        }

        Assert.True(run.ExitCode == 0 && summary.Ok, $"The browser run failed:\n{run}");
        var results = summary.Results ?? throw new InvalidOperationException($"No page results:\n{run}");
        Assert.Equal(Endpoints, results.Endpoints.Select(e => e.Path));

        int seed = FirstSeed;
        foreach (var endpoint in results.Endpoints)
        {
            string context = endpoint.Path;
            Assert.True(endpoint.Error is null, $"{context}: {endpoint.Error}");

            // The browser's extensions attribute is the server's Sec-WebSocket-Extensions answer (R7692-5-i, R7692-5-c).
            if (endpoint.Path == InteropServer.Deflate)
            {
                Assert.StartsWith("permessage-deflate", endpoint.Extensions, StringComparison.Ordinal);
                DeflateResponse.ParseLegal(endpoint.Extensions, new DeflateOffer(ClientMaxWindowBitsOffered: true));
            }
            else
            {
                Assert.True(endpoint.Extensions == "", $"{context}: extensions '{endpoint.Extensions}' on a plain endpoint");
            }

            Assert.True(endpoint.Protocol == "", $"{context}: subprotocol '{endpoint.Protocol}' selected though none was offered");

            // Every message, in the order sent, echoed with its type and content.
            var expected = Kinds.SelectMany(kind => Sizes.Select(size => (Kind: kind, Size: size))).ToList();
            Assert.True(expected.Count == endpoint.Messages.Count, $"{context}: {endpoint.Messages.Count} of {expected.Count} messages reported");
            for (int i = 0; i < expected.Count; i++)
            {
                var message = endpoint.Messages[i];
                string where = $"{context}, message {i} ({message.Kind}, {message.Size} B, seed {message.Seed})";
                Assert.True((expected[i].Kind, expected[i].Size, seed) == (message.Kind, message.Size, message.Seed), $"{where}: expected {expected[i].Kind}, {expected[i].Size} B, seed {seed}");
                bool text = message.Kind.EndsWith("-text", StringComparison.Ordinal);
                Assert.True(message.SentText == text && message.EchoedText == text, $"{where}: sent {(message.SentText ? "text" : "binary")}, echoed {(message.EchoedText ? "text" : "binary")}");
                Assert.True(message.EchoedLength == message.Size && message.Equal, $"{where}: the echo of {message.EchoedLength} B differs from what was sent");
                string digest = Convert.ToHexStringLower(SHA256.HashData(Generate(message.Kind, message.Size, message.Seed)));
                Assert.True(digest == message.Sha256, $"{where}: echo digest {message.Sha256}, expected {digest}");
                seed++;
            }

            // The browser closed with 4000 "bye" and the server received exactly that (R6455-5.5.1, 7.1.5, 7.1.6)...
            var received = await server.PeerCloseAsync(runName + endpoint.Path).WaitAsync(TimeSpan.FromSeconds(10));
            Assert.True(received is { Code: 4000, Reason: "bye" }, $"{context}: the server received the browser's close as {received}");

            // ...and the close event carries the server's answer: the code echoed, no reason (the server echoes only the
            // code, section 5.5.1), after a closing handshake the browser judged clean (section 7.1.4).
            var close = endpoint.Close ?? throw new InvalidOperationException($"{context}: no close event recorded");
            Assert.True(close is { Code: 4000, Reason: "", WasClean: true }, $"{context}: closed with {close}");
        }
    }

    private static BrowserSummary Parse(ClientRun run)
    {
        var line = run.StandardOutput.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).LastOrDefault(l => l.StartsWith('{'));
        Assert.True(line is not null, $"The browser script printed no summary:\n{run}");
        try
        {
            return JsonSerializer.Deserialize<BrowserSummary>(line, Json) ?? throw new JsonException("null summary");
        }
        catch (JsonException e)
        {
            Assert.Fail($"The browser script's summary is not readable ({e.Message}):\n{run}");
            throw;
        }
    }

    /// <summary>What browser.html sends, generated the same way (xorshift32), so the echoes are judged independently.</summary>
    private static byte[] Generate(string kind, int size, int seed)
    {
        uint state = seed == 0 ? 0x9e3779b9 : (uint)seed;
        uint Next()
        {
            state ^= state << 13;
            state ^= state >> 17;
            state ^= state << 5;
            return state;
        }

        switch (kind)
        {
            case "random-binary":
                var bytes = new byte[size];
                for (int i = 0; i < size; i++)
                {
                    bytes[i] = (byte)Next();
                }

                return bytes;
            case "zeros-binary":
                return new byte[size];
            case "random-text":
                var text = new StringBuilder();
                int length = 0;
                while (length < size)
                {
                    string character = TextCharacters[Next() % (uint)TextCharacters.Length];
                    int count = Encoding.UTF8.GetByteCount(character);
                    if (count > size - length)
                    {
                        (character, count) = ("a", 1);
                    }

                    text.Append(character);
                    length += count;
                }

                return Encoding.UTF8.GetBytes(text.ToString());
            case "repeated-text":
                var sentence = Encoding.UTF8.GetBytes($"The quick brown fox {seed} jumps over the lazy dog. ");
                var repeated = new byte[size];
                for (int offset = 0; offset < size; offset += sentence.Length)
                {
                    sentence.AsSpan(0, Math.Min(sentence.Length, size - offset)).CopyTo(repeated.AsSpan(offset));
                }

                return repeated;
            default:
                throw new ArgumentOutOfRangeException(nameof(kind), kind, null);
        }
    }

    private sealed record BrowserSummary(bool Ok, PageResults? Results, string[]? Console, Dictionary<string, int>? Timings, string? Error);

    private sealed record PageResults(bool Ok, string? UserAgent, EndpointResult[] Endpoints, string? Error);

    private sealed record EndpointResult(string Path, string? Extensions, string? Protocol, List<MessageResult> Messages, CloseResult? Close, string? Error, int ElapsedMs);

    private sealed record MessageResult(string Kind, int Size, int Seed, bool SentText, bool EchoedText, int EchoedLength, bool Equal, string Sha256);

    private sealed record CloseResult(int Code, string Reason, bool WasClean);
}
