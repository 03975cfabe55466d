using System.Security.Cryptography;
using System.Text;
using Shockwave.Protocol.Compression;
using static Shockwave.Protocol.Tests.Compression.DeflateTestData;

namespace Shockwave.Protocol.Tests.Compression;

/// <summary>
/// R7692-7.2.1-g and R7692-5-d: with <c>server_max_window_bits=w</c> agreed, no back-reference in the server's output
/// may reach further than 2^w bytes, within a message or into earlier ones (context takeover).
/// </summary>
public class PerMessageDeflateWindowTests
{
    private static byte[][] Messages() =>
        [RepeatsAtDistances(seed: 3), Json(20_000, seed: 4), RepeatsAtDistances(seed: 5), Json(2000, seed: 9), Json(2000, seed: 9), [], "Hello"u8.ToArray()];

    public static TheoryData<string, int> CodecsAndWindows
    {
        get
        {
            var data = new TheoryData<string, int>();
            foreach (string codec in CodecNames)
            {
                for (int bits = 8; bits <= 15; bits++)
                {
                    data.Add(codec, bits);
                }
            }

            return data;
        }
    }

    private static List<byte[]> CompressAll(string codec, int windowBits, IEnumerable<byte[]> messages)
    {
        using var compressor = Compressor(codec, windowBits: windowBits);
        return messages.Select(m => Compress(compressor, m)).ToList();
    }

    [Theory]
    [MemberData(nameof(CodecsAndWindows))]
    public void ServerWindow_OutputNeverRefersBeyondIt(string codec, int windowBits)
    {
        var messages = Messages();
        var payloads = CompressAll(codec, windowBits, messages);
        var reference = new ReferenceInflater();

        // The client side inflates with the agreed server window (the zlib codec sizes its window to it).
        using var decompressor = ClientDecompressor(codec, serverWindowBits: windowBits);
        for (int i = 0; i < messages.Length; i++)
        {
            Assert.Equal(messages[i], reference.DecodeMessage(payloads[i]));
            Assert.Equal(messages[i], DeflateTestData.Decompress(decompressor, payloads[i]));
        }

        Assert.InRange(reference.MaxDistance, 1, 1 << windowBits);
        if (codec is "runtime" or "auto" && windowBits < 15)
        {
            // The runtime codec's only way to honour a small window: run-length matches at distance 1. (Auto is the runtime
            // codec whenever the context is kept, as here.)
            Assert.Equal(1, reference.MaxDistance);
        }
        else if (windowBits >= 10)
        {
            // A true window is used to (nearly) its size: zlib reaches back up to 2^bits - 262 bytes.
            Assert.True(reference.MaxDistance > 1 << (windowBits - 1), $"max distance {reference.MaxDistance}");
        }

        if (windowBits == 15)
        {
            // The data has repeats up to 32,000 bytes apart: a full window uses them, so the check above can fail.
            Assert.True(reference.MaxDistance > 16_384, $"max distance {reference.MaxDistance}");
            Assert.True(reference.MaxDistanceIntoEarlierMessages > 0);
        }
    }

    // R7692-7.2.1-e with R7692-7.2.1-g: without context takeover each message is compressed alone, so no back-reference
    // can reach before its first byte. Both codecs size themselves to such a message (a smaller zlib state; full matching
    // instead of run-length under a small window when the message fits it): every size around the window and zlib's
    // 262-byte lookahead must still decode alone, from an inflater of the agreed window, and never reach further back.
    [Theory]
    [MemberData(nameof(CodecsAndWindows))]
    public void NoContextTakeover_MessageSizedStateKeepsToTheWindow(string codec, int windowBits)
    {
        int window = 1 << windowBits;
        int[] sizes = [0, 1, 100, window - 262, window - 1, window, window + 1, window + 300, 4 * window, 40_000];
        using var compressor = Compressor(codec, noContextTakeover: true, windowBits: windowBits);
        using var decompressor = ClientDecompressor(codec, serverNoContextTakeover: true, serverWindowBits: windowBits);
        foreach (int size in sizes.Where(n => n >= 0).Distinct())
        {
            byte[] message = Json(size, seed: size);
            byte[] payload = Compress(compressor, message);
            var reference = new ReferenceInflater();
            Assert.Equal(message, reference.DecodeMessage(payload));
            Assert.Equal(message, DeflateTestData.Decompress(decompressor, payload));
            Assert.InRange(reference.MaxDistance, 0, Math.Min(window, Math.Max(size, 1)));
            Assert.Equal(0, reference.MaxDistanceIntoEarlierMessages);
            if (size >= 100 && size <= window - 262)
            {
                // The message fits the window: both codecs match at full distance (JSON repeats its keys further than
                // one byte back), where a window-sized run-length fallback would only reach distance 1.
                Assert.True(reference.MaxDistance > 1, $"{codec} w={windowBits} size={size}: max distance {reference.MaxDistance}");
            }
        }
    }

    // The same property checked by zlib itself: Python's inflater created for a 2^w window, fed one output byte per call
    // so every back-reference must come from its 2^w-byte window, and kept across messages (context takeover).
    [Fact]
    public void ServerWindow_AcceptedByZlibInflaterOfThatWindow()
    {
        const string script = """
            import sys, zlib, base64, hashlib
            for line in sys.stdin:
                wbits, data = line.split(' ')
                d = zlib.decompressobj(wbits=-int(wbits))
                out = hashlib.sha256()
                try:
                    for message in data.strip().split(','):
                        payload = base64.b64decode(message) + b'\x00\x00\xff\xff'
                        for i in range(0, len(payload), 16):
                            buf = payload[i:i + 16]
                            while True:
                                chunk = d.decompress(buf, 1)
                                buf = d.unconsumed_tail
                                if not chunk and not buf:
                                    break
                                out.update(chunk)
                    print(out.hexdigest())
                except zlib.error as e:
                    print('error: ' + str(e))
            """;

        // Repeats up to 12,000 bytes apart, then a message repeated whole, so a reference into the previous message is
        // available 3,000 bytes back; every window below that must go without it.
        byte[][] messages = [RepeatsAtDistances(seed: 6)[..12_500], Json(3000, seed: 7), Json(3000, seed: 7), []];
        string expected = Convert.ToHexStringLower(SHA256.HashData(messages.SelectMany(m => m).ToArray()));
        var input = new StringBuilder();
        foreach (string codec in CodecNames)
        {
            for (int bits = 8; bits <= 15; bits++)
            {
                input.Append(bits).Append(' ').AppendJoin(',', CompressAll(codec, bits, messages).Select(Convert.ToBase64String)).Append('\n');
            }

            // Control: full-window output offered to a 2^8 inflater must be refused, or this test proves nothing.
            input.Append("8 ").AppendJoin(',', CompressAll(codec, 15, messages).Select(Convert.ToBase64String)).Append('\n');
        }

        // One python3 process for everything: starting it is the slow part.
        var lines = RunPython(script, input.ToString()).Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(9 * CodecNames.Length, lines.Length);
        for (int c = 0; c < CodecNames.Length; c++)
        {
            for (int i = 0; i < 8; i++)
            {
                Assert.True(expected == lines[(c * 9) + i], $"{CodecNames[c]} window {i + 8}: {lines[(c * 9) + i]}");
            }

            Assert.StartsWith("error: ", lines[(c * 9) + 8]);
        }
    }

    // With the system zlib codec the inflater's window is the peer's agreed one (R7692-7.2.2-e): 2^10 bytes here,
    // which decodes a peer that keeps to it and refuses one that reaches further back into an earlier message.
    // (Within one call zlib also resolves distances into the output it has just written, so the refusal shows across
    // messages, where only the 2^10-byte window is left.)
    [Fact]
    public void ZlibInflater_UsesThePeersAgreedWindow()
    {
        if (!SystemZlibBackend.IsAvailable)
        {
            return; // nothing to check: the runtime codec always inflates with 2^15
        }

        var message = Json(3000, seed: 11);
        using (var decompressor = Decompressor("zlib", clientWindowBits: 10))
        using (var client = new PerMessageDeflateCompressor(new PerMessageDeflateParameters(false, false, 15, 10), 6, WebSocketRole.Client, Backend("zlib")))
        {
            AssertSameBytes(message, DeflateTestData.Decompress(decompressor, Compress(client, message)));
            AssertSameBytes(message, DeflateTestData.Decompress(decompressor, Compress(client, message)));
        }

        using (var decompressor = Decompressor("zlib", clientWindowBits: 10))
        using (var rogue = Compressor("zlib", windowBits: 15))
        {
            AssertSameBytes(message, DeflateTestData.Decompress(decompressor, Compress(rogue, message)));
            var output = new System.Buffers.ArrayBufferWriter<byte>();
            Assert.Equal(DecompressionStatus.InvalidData, decompressor.DecompressMessage(Compress(rogue, message), output));
        }
    }
}
