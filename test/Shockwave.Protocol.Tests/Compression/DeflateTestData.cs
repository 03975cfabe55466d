using System.Buffers;
using System.Diagnostics;
using System.IO.Compression;
using System.Text;
using Shockwave.Protocol.Compression;

namespace Shockwave.Protocol.Tests.Compression;

/// <summary>Payload generators and independent decoders shared by the compression tests.</summary>
internal static class DeflateTestData
{
    public static readonly byte[] Trailer = [0x00, 0x00, 0xFF, 0xFF];

    /// <summary>JSON-like chat traffic: compressible, with repeats at all sorts of distances.</summary>
    public static byte[] Json(int length, int seed = 1)
    {
        var random = new Random(seed);
        string[] users = ["alice", "bob", "carol", "dave", "eve", "mallory"];
        var text = new StringBuilder(length + 128);
        while (text.Length < length)
        {
            text.Append("{\"id\":").Append(random.Next(100_000))
                .Append(",\"user\":\"").Append(users[random.Next(users.Length)])
                .Append("\",\"text\":\"message ").Append(random.Next(1000)).Append(" in room ").Append(random.Next(50))
                .Append("\",\"ts\":").Append(1_700_000_000_000L + random.Next()).Append("},");
        }

        return Encoding.UTF8.GetBytes(text.ToString(0, length));
    }

    /// <summary>Incompressible bytes.</summary>
    public static byte[] Random(int length, int seed = 2)
    {
        var bytes = new byte[length];
        new Random(seed).NextBytes(bytes);
        return bytes;
    }

    /// <summary>
    /// Random blocks each repeated once at a chosen distance, so a compressor with a large window finds matches at every
    /// distance up to 32 KiB and one limited to a small window must not use them.
    /// </summary>
    public static byte[] RepeatsAtDistances(int seed = 3)
    {
        var random = new Random(seed);
        var output = new List<byte>();
        foreach (int distance in new[] { 100, 300, 700, 1500, 3000, 6000, 12000, 24000, 32000 })
        {
            var block = new byte[64];
            random.NextBytes(block);
            output.AddRange(block);
            var filler = new byte[distance - block.Length];
            random.NextBytes(filler);
            output.AddRange(filler);
            output.AddRange(block);
        }

        return [.. output];
    }

    /// <summary>The codecs to run each codec test against: the runtime's, and the system zlib and Auto where zlib exists.</summary>
    public static string[] CodecNames { get; } = SystemZlibBackend.IsAvailable ? ["runtime", "zlib", "auto"] : ["runtime"];

    public static TheoryData<string> Codecs => new(CodecNames);

    public static IDeflateBackend Backend(string codec) => codec switch
    {
        "runtime" => DeflateStreamBackend.Instance,
        "zlib" => SystemZlibBackend.TryCreate(memoryLevel: 8) ?? throw new InvalidOperationException("no system zlib"),
        "auto" => new AutoDeflateBackend(SystemZlibBackend.TryCreate(memoryLevel: 8) ?? throw new InvalidOperationException("no system zlib")),
        _ => throw new ArgumentOutOfRangeException(nameof(codec)),
    };

    public static PerMessageDeflateCompressor Compressor(string codec, bool noContextTakeover = false, int windowBits = 15, int level = 6) =>
        new(new PerMessageDeflateParameters(noContextTakeover, false, windowBits, 15), level, WebSocketRole.Server, Backend(codec));

    /// <summary>A server-side decompressor; the client's window and context takeover as given.</summary>
    public static PerMessageDeflateDecompressor Decompressor(string codec, bool clientNoContextTakeover = false, long maxMessageSize = 64 << 20, int clientWindowBits = 15) =>
        new(new PerMessageDeflateParameters(false, clientNoContextTakeover, 15, clientWindowBits), maxMessageSize, WebSocketRole.Server, Backend(codec));

    /// <summary>A client-side decompressor for what a server compressor produced.</summary>
    public static PerMessageDeflateDecompressor ClientDecompressor(string codec, bool serverNoContextTakeover = false, int serverWindowBits = 15) =>
        new(new PerMessageDeflateParameters(serverNoContextTakeover, false, serverWindowBits, 15), 64 << 20, WebSocketRole.Client, Backend(codec));

    public static byte[] Compress(PerMessageDeflateCompressor compressor, ReadOnlySpan<byte> payload)
    {
        var output = new ArrayBufferWriter<byte>();
        compressor.Compress(payload, output);
        return output.WrittenSpan.ToArray();
    }

    /// <summary>Decodes one message with the BCL's own inflater, fresh each time: a payload that refers to earlier messages fails.</summary>
    public static byte[] InflateFresh(ReadOnlySpan<byte> payload)
    {
        using var source = new MemoryStream([.. payload, .. Trailer]);
        using var inflater = new DeflateStream(source, CompressionMode.Decompress);
        using var result = new MemoryStream();
        inflater.CopyTo(result);
        return result.ToArray();
    }

    /// <summary>
    /// Decodes consecutive messages with one BCL inflater kept across them (context takeover), reading each message's
    /// payload plus trailer from one stream; returns all messages' output concatenated.
    /// </summary>
    public static byte[] InflateWithOneWindow(params byte[][] payloads)
    {
        using var source = new MemoryStream();
        foreach (var payload in payloads)
        {
            source.Write(payload);
            source.Write(Trailer);
        }

        source.Position = 0;
        using var inflater = new DeflateStream(source, CompressionMode.Decompress);
        using var result = new MemoryStream();
        inflater.CopyTo(result);
        return result.ToArray();
    }

    /// <summary>Compares large byte arrays quickly (xunit compares collections element by element).</summary>
    public static void AssertSameBytes(ReadOnlySpan<byte> expected, ReadOnlySpan<byte> actual)
    {
        Assert.Equal(expected.Length, actual.Length);
        int mismatch = expected.CommonPrefixLength(actual);
        Assert.True(mismatch == expected.Length, $"first difference at byte {mismatch}");
    }

    /// <summary>Decodes with our decompressor into a fresh buffer and asserts success.</summary>
    public static byte[] Decompress(PerMessageDeflateDecompressor decompressor, ReadOnlySpan<byte> payload)
    {
        var output = new ArrayBufferWriter<byte>();
        Assert.Equal(DecompressionStatus.Done, decompressor.DecompressMessage(payload, output));
        return output.WrittenSpan.ToArray();
    }

    /// <summary>
    /// A peer's compressor built only from the BCL, independent of the code under test: one persistent
    /// <see cref="DeflateStream"/> (context takeover) or a new one per message, trailer stripped as RFC 7692 says.
    /// </summary>
    public sealed class PeerCompressor(bool noContextTakeover) : IDisposable
    {
        private readonly MemoryStream _sink = new();
        private DeflateStream? _stream;

        public byte[] Compress(ReadOnlySpan<byte> message)
        {
            if (noContextTakeover || _stream is null)
            {
                _stream?.Dispose();
                _stream = new DeflateStream(_sink, CompressionLevel.Optimal, leaveOpen: true);
            }

            _sink.SetLength(0);
            _stream.Write(message);
            _stream.Flush();
            var bytes = _sink.ToArray();
            Assert.Equal(Trailer, bytes[^4..]);
            return bytes[..^4];
        }

        public void Dispose() => _stream?.Dispose();
    }

    /// <summary>
    /// Runs python3 with a script and stdin. python3 comes with the test dependencies (scripts/install-test-deps.sh);
    /// a machine without it fails the test with that hint rather than skipping it.
    /// </summary>
    public static string RunPython(string script, string input)
    {
        var start = new ProcessStartInfo("python3", ["-c", script])
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        Process? process;
        try
        {
            process = Process.Start(start);
        }
        catch (System.ComponentModel.Win32Exception ex)
        {
            throw new InvalidOperationException("python3 is not installed; run scripts/install-test-deps.sh.", ex);
        }

        using (process)
        {
            Assert.NotNull(process);
            var stdout = process.StandardOutput.ReadToEndAsync();
            var stderr = process.StandardError.ReadToEndAsync();
            process.StandardInput.Write(input);
            process.StandardInput.Close();
            Assert.True(process.WaitForExit(30_000), "python3 timed out");
            Assert.True(process.ExitCode == 0, "python3 failed: " + stderr.Result);
            return stdout.Result;
        }
    }
}
