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

    private static List<byte[]> CompressAll(int windowBits, IEnumerable<byte[]> messages)
    {
        using var compressor = new PerMessageDeflateCompressor(new PerMessageDeflateParameters(false, false, windowBits, 15));
        return messages.Select(m => Compress(compressor, m)).ToList();
    }

    [Theory]
    [InlineData(8)]
    [InlineData(9)]
    [InlineData(10)]
    [InlineData(11)]
    [InlineData(12)]
    [InlineData(13)]
    [InlineData(14)]
    [InlineData(15)]
    public void ServerWindow_OutputNeverRefersBeyondIt(int windowBits)
    {
        var messages = Messages();
        var payloads = CompressAll(windowBits, messages);
        var reference = new ReferenceInflater();
        using var decompressor = new PerMessageDeflateDecompressor(PerMessageDeflateParameters.Default, 1 << 20, WebSocketRole.Client);
        for (int i = 0; i < messages.Length; i++)
        {
            Assert.Equal(messages[i], reference.DecodeMessage(payloads[i]));
            Assert.Equal(messages[i], DeflateTestData.Decompress(decompressor, payloads[i]));
        }

        Assert.InRange(reference.MaxDistance, 1, 1 << windowBits);
        if (windowBits == 15)
        {
            // The data has repeats up to 32,000 bytes apart: a full window uses them, so the check above can fail.
            Assert.True(reference.MaxDistance > 16_384, $"max distance {reference.MaxDistance}");
            Assert.True(reference.MaxDistanceIntoEarlierMessages > 0);
        }
    }

    // The same property checked by zlib itself: Python's inflater created for a 2^w window, fed one output byte per call
    // so every back-reference must come from its 2^w-byte window, and kept across messages (context takeover).
    [PythonFact]
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
        for (int bits = 8; bits <= 15; bits++)
        {
            input.Append(bits).Append(' ').AppendJoin(',', CompressAll(bits, messages).Select(Convert.ToBase64String)).Append('\n');
        }

        // Control: full-window output offered to a 2^8 inflater must be refused, or this test proves nothing.
        input.Append("8 ").AppendJoin(',', CompressAll(15, messages).Select(Convert.ToBase64String)).Append('\n');

        var lines = RunPython(script, input.ToString())!.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(9, lines.Length);
        for (int i = 0; i < 8; i++)
        {
            Assert.True(expected == lines[i], $"window {i + 8}: {lines[i]}");
        }

        Assert.StartsWith("error: ", lines[8]);
    }
}
