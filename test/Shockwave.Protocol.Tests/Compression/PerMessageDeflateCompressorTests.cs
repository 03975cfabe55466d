using System.Buffers;
using Shockwave.Protocol.Compression;
using static Shockwave.Protocol.Tests.Compression.DeflateTestData;

namespace Shockwave.Protocol.Tests.Compression;

public class PerMessageDeflateCompressorTests
{
    public static TheoryData<string, bool> CodecsAndFlags => Combine(CodecNames, [false, true]);

    public static TheoryData<string, int> CodecsAndSizes => Combine(CodecNames, [1, 31, 1000, 65_536, 1_000_000, 4 * 1024 * 1024]);

    public static TheoryData<string, int> CodecsAndLevels => Combine(CodecNames, [0, 1, 9]);

    private static TheoryData<string, T> Combine<T>(string[] codecs, T[] values)
    {
        var data = new TheoryData<string, T>();
        foreach (string codec in codecs)
        {
            foreach (var value in values)
            {
                data.Add(codec, value);
            }
        }

        return data;
    }

    private static readonly byte[] Hello = "Hello"u8.ToArray();

    // RFC 7692 section 7.2.3.1 and R7692-6.1-a: "Hello" is f2 48 cd c9 c9 07 00 after the trailer is removed.
    [Theory]
    [MemberData(nameof(Codecs), MemberType = typeof(DeflateTestData))]
    public void Hello_CompressesToTheRfcBytes(string codec)
    {
        using var compressor = Compressor(codec);
        Assert.Equal(Convert.FromHexString("F248CDC9C90700"), Compress(compressor, Hello));
    }

    // RFC 7692 section 7.2.3.2: with context takeover the second "Hello" is a back-reference into the first.
    [Theory]
    [MemberData(nameof(Codecs), MemberType = typeof(DeflateTestData))]
    public void SecondHello_WithContextTakeover_RefersToTheFirst(string codec)
    {
        using var compressor = Compressor(codec);
        Compress(compressor, Hello);
        Assert.Equal(Convert.FromHexString("F200110000"), Compress(compressor, Hello));
    }

    // R7692-7.2.1-e: with server_no_context_takeover every message starts from an empty window.
    [Theory]
    [MemberData(nameof(Codecs), MemberType = typeof(DeflateTestData))]
    public void RepeatedHello_WithoutContextTakeover_IsIdenticalEachTime(string codec)
    {
        using var compressor = Compressor(codec, noContextTakeover: true);
        for (int i = 0; i < 3; i++)
        {
            Assert.Equal(Convert.FromHexString("F248CDC9C90700"), Compress(compressor, Hello));
        }
    }

    // RFC 7692 section 7.2.3.6: an empty message is a single 00, also right after another message (zlib writes nothing then).
    [Theory]
    [MemberData(nameof(CodecsAndFlags))]
    public void EmptyMessage_IsOneZeroByte(string codec, bool noContextTakeover)
    {
        using var compressor = Compressor(codec, noContextTakeover);
        using var decompressor = ClientDecompressor(codec, noContextTakeover);
        foreach (var message in new[] { "", "", "abc", "", "abc", "" })
        {
            var payload = Compress(compressor, System.Text.Encoding.ASCII.GetBytes(message));
            if (message.Length == 0)
            {
                Assert.Equal([0x00], payload);
            }

            Assert.Equal(message, System.Text.Encoding.ASCII.GetString(DeflateTestData.Decompress(decompressor, payload)));
        }
    }

    // R7692-7.2.1-b: a message sent in parts keeps the sync flush of every part but the last.
    [Theory]
    [MemberData(nameof(Codecs), MemberType = typeof(DeflateTestData))]
    public void MessageInParts_KeepsTrailerOnAllButTheLastPart(string codec)
    {
        using var compressor = Compressor(codec);
        var message = Json(20_000);
        var parts = new List<byte[]>();
        int[] cuts = [0, 7, 7, 5000, 19_999, 20_000];
        for (int i = 0; i + 1 < cuts.Length; i++)
        {
            var output = new ArrayBufferWriter<byte>();
            compressor.CompressPart(message.AsSpan(cuts[i], cuts[i + 1] - cuts[i]), endOfMessage: i + 2 == cuts.Length, output);
            parts.Add(output.WrittenSpan.ToArray());
        }

        for (int i = 0; i < parts.Count - 1; i++)
        {
            // An empty part after a flush has nothing to flush and writes nothing at all.
            Assert.True(parts[i].Length == 0 || parts[i].AsSpan().EndsWith(Trailer), $"part {i}");
        }

        Assert.False(parts[^1].AsSpan().EndsWith(Trailer));
        Assert.Equal(message, InflateFresh(parts.SelectMany(p => p).ToArray()));
    }

    [Theory]
    [MemberData(nameof(Codecs), MemberType = typeof(DeflateTestData))]
    public void MessageInParts_EmptyLastPart_EndsWithAnEmptyBlockStart(string codec)
    {
        using var compressor = Compressor(codec);
        var first = new ArrayBufferWriter<byte>();
        compressor.CompressPart("abc"u8, endOfMessage: false, first);
        var last = new ArrayBufferWriter<byte>();
        compressor.CompressPart([], endOfMessage: true, last);
        Assert.Equal([0x00], last.WrittenSpan.ToArray());
        Assert.Equal("abc"u8.ToArray(), InflateFresh([.. first.WrittenSpan, .. last.WrittenSpan]));
    }

    // R7692-6.1-a, R7692-7.2.1-c: the output is raw DEFLATE any inflater decodes, for sizes from 1 byte to several MiB.
    [Theory]
    [MemberData(nameof(CodecsAndSizes))]
    public void AnySize_RoundTripsThroughAnIndependentInflater(string codec, int size)
    {
        using var compressor = Compressor(codec);
        var json = Json(size);
        var payload = Compress(compressor, json);
        Assert.False(payload.AsSpan().EndsWith(Trailer)); // R7692-7.2.1: the sync flush trailer is removed
        AssertSameBytes(json, InflateFresh(payload));
        if (size >= 1000)
        {
            Assert.True(payload.Length < size / 2, $"{payload.Length} for {size}");
        }

        // Incompressible data must not grow by more than deflate's per-block overhead. (Random data is the slow case
        // for deflate, so the largest size is left to the compressible text.)
        var random = DeflateTestData.Random(Math.Min(size, 1_000_000));
        var randomPayload = Compress(compressor, random);
        Assert.True(randomPayload.Length <= random.Length + 5 * (random.Length / 16_000 + 2), $"{randomPayload.Length} for {random.Length}");

        // Both messages through one independent inflater: the second may refer into the first (context takeover).
        var both = InflateWithOneWindow(payload, randomPayload);
        AssertSameBytes([.. json, .. random], both);
    }

    // R7692-7.2.1 context takeover: message 2 decodes with the kept window but not with a fresh inflater.
    [Theory]
    [MemberData(nameof(Codecs), MemberType = typeof(DeflateTestData))]
    public void ContextTakeover_IsReal(string codec)
    {
        using var compressor = Compressor(codec);
        var message = Json(2000);
        var first = Compress(compressor, message);
        var second = Compress(compressor, message);
        Assert.True(second.Length < first.Length / 4, $"{second.Length} vs {first.Length}");
        Assert.ThrowsAny<InvalidDataException>(() => InflateFresh(second));

        var reference = new ReferenceInflater();
        Assert.Equal(message, reference.DecodeMessage(first));
        Assert.Equal(message, reference.DecodeMessage(second));
        Assert.True(reference.MaxDistanceIntoEarlierMessages > 0);
    }

    // R7692-7.2.1-e: without context takeover every message decodes on its own.
    [Theory]
    [MemberData(nameof(Codecs), MemberType = typeof(DeflateTestData))]
    public void NoContextTakeover_EveryMessageDecodesAlone(string codec)
    {
        using var compressor = Compressor(codec, noContextTakeover: true);
        var reference = new ReferenceInflater();
        for (int i = 0; i < 5; i++)
        {
            var message = Json(3000, seed: i % 2);
            var payload = Compress(compressor, message);
            Assert.Equal(message, InflateFresh(payload));
            Assert.Equal(message, reference.DecodeMessage(payload));
        }

        Assert.Equal(0, reference.MaxDistanceIntoEarlierMessages);
    }

    [Theory]
    [MemberData(nameof(CodecsAndLevels))]
    public void AnyLevel_RoundTrips(string codec, int level)
    {
        using var compressor = Compressor(codec, level: level);
        var message = Json(10_000);
        var payload = Compress(compressor, message);
        Assert.Equal(message, InflateFresh(payload));
        if (level == 0)
        {
            Assert.True(payload.Length > message.Length, "level 0 stores");
        }
    }

    [Fact]
    public void Dispose_ThenCompress_Throws()
    {
        var compressor = new PerMessageDeflateCompressor(PerMessageDeflateParameters.Default);
        Compress(compressor, Hello);
        compressor.Dispose();
        compressor.Dispose();
        Assert.Throws<ObjectDisposedException>(() => Compress(compressor, Hello));
    }

    [Theory]
    [InlineData(7, 6)]
    [InlineData(16, 6)]
    [InlineData(15, -1)]
    [InlineData(15, 10)]
    public void InvalidSettings_AreRejected(int windowBits, int level) =>
        Assert.Throws<ArgumentOutOfRangeException>(() => new PerMessageDeflateCompressor(new PerMessageDeflateParameters(false, false, windowBits, 15), level));

    [Fact]
    public void RoleClient_UsesTheClientSideParameters()
    {
        var parameters = new PerMessageDeflateParameters(ServerNoContextTakeover: false, ClientNoContextTakeover: true, 15, 10);
        using var client = new PerMessageDeflateCompressor(parameters, role: WebSocketRole.Client);
        using var server = new PerMessageDeflateCompressor(parameters);
        Assert.Equal((10, true), (client.WindowBits, client.NoContextTakeover));
        Assert.Equal((15, false), (server.WindowBits, server.NoContextTakeover));
    }

    [Theory]
    [MemberData(nameof(Codecs), MemberType = typeof(DeflateTestData))]
    public void DestinationFailingMidMessage_NextMessageStartsFromAnEmptyWindow(string codec)
    {
        using var compressor = Compressor(codec);
        var message = Json(100_000);
        Compress(compressor, message);
        Assert.Throws<IOException>(() => compressor.Compress(Json(50_000, seed: 5), new ClosedPipeWriter()));

        // Whatever the peer received of the failed message, the next one refers to nothing before it.
        var next = Compress(compressor, message);
        AssertSameBytes(message, InflateFresh(next));
    }

    /// <summary>Fails like the writer of a pipe whose reader has gone.</summary>
    private sealed class ClosedPipeWriter : IBufferWriter<byte>
    {
        public void Advance(int count) => throw new IOException("the pipe is closed");

        public Memory<byte> GetMemory(int sizeHint = 0) => throw new IOException("the pipe is closed");

        public Span<byte> GetSpan(int sizeHint = 0) => GetMemory(sizeHint).Span;
    }

    // Auto compresses a small lone message (no context takeover) with the message-sized system zlib state and everything
    // else with the runtime codec: its output is byte for byte the output of the codec it chose.
    [Theory]
    [InlineData(true, 100, "zlib")]
    [InlineData(true, 3000, "zlib")]
    [InlineData(true, (1 << 12) - 262, "zlib")]
    [InlineData(true, (1 << 12) - 261, "runtime")]
    [InlineData(true, 20_000, "runtime")]
    [InlineData(false, 100, "runtime")]
    [InlineData(false, 20_000, "runtime")]
    public void Auto_PicksTheSizedZlibStateOnlyForSmallLoneMessages(bool noContextTakeover, int size, string chosen)
    {
        if (!SystemZlibBackend.IsAvailable)
        {
            Assert.Equal(["runtime"], CodecNames); // Auto is the runtime codec there; nothing else to tell apart
            return;
        }

        byte[] message = Json(size, seed: size);
        using var auto = Compressor("auto", noContextTakeover);
        using var expected = Compressor(chosen, noContextTakeover);
        using var other = Compressor(chosen == "zlib" ? "runtime" : "zlib", noContextTakeover);

        // Twice: the choice is per message, and with context takeover the second message refers to the first.
        for (int i = 0; i < 2; i++)
        {
            byte[] produced = Compress(auto, message);
            Assert.Equal(Compress(expected, message), produced);
            Assert.NotEqual(Compress(other, message), produced); // the two codecs' outputs differ, or this proves nothing
        }
    }

    [Fact]
    public void Options_SelectTheCodecWithFallback()
    {
        var runtime = new PerMessageDeflateOptions { Codec = PerMessageDeflateCodec.Runtime };
        var zlib = new PerMessageDeflateOptions { Codec = PerMessageDeflateCodec.SystemZlib, MemoryLevel = 4, CompressionLevel = 1 };
        using (var compressor = new PerMessageDeflateCompressor(PerMessageDeflateParameters.Default, runtime))
        using (var decompressor = new PerMessageDeflateDecompressor(PerMessageDeflateParameters.Default, runtime, 1000))
        {
            Assert.Equal(PerMessageDeflateCodec.Runtime, compressor.Codec);
            Assert.Equal(PerMessageDeflateCodec.Runtime, decompressor.Codec);
        }

        // Where the OS has no zlib the same options quietly give the runtime codec.
        var expected = SystemZlibBackend.IsAvailable ? PerMessageDeflateCodec.SystemZlib : PerMessageDeflateCodec.Runtime;
        using (var compressor = new PerMessageDeflateCompressor(PerMessageDeflateParameters.Default, zlib))
        using (var decompressor = new PerMessageDeflateDecompressor(PerMessageDeflateParameters.Default, zlib, 1000))
        {
            Assert.Equal(expected, compressor.Codec);
            Assert.Equal(expected, decompressor.Codec);
            Assert.Equal(Hello, DeflateTestData.Decompress(decompressor, Compress(compressor, Hello)));
        }

        // The default, Auto, is itself where a system zlib exists (its inflater is the runtime's), the runtime codec elsewhere.
        var auto = new PerMessageDeflateOptions();
        var expectedAuto = SystemZlibBackend.IsAvailable ? PerMessageDeflateCodec.Auto : PerMessageDeflateCodec.Runtime;
        using (var compressor = new PerMessageDeflateCompressor(PerMessageDeflateParameters.Default, auto))
        using (var decompressor = new PerMessageDeflateDecompressor(PerMessageDeflateParameters.Default, auto, 1000))
        {
            Assert.Equal(expectedAuto, compressor.Codec);
            Assert.Equal(expectedAuto, decompressor.Codec);
            Assert.Equal(Hello, DeflateTestData.Decompress(decompressor, Compress(compressor, Hello)));
        }

        Assert.Throws<ArgumentOutOfRangeException>(() => new PerMessageDeflateCompressor(PerMessageDeflateParameters.Default, zlib with { MemoryLevel = 10 }));
        Assert.Throws<ArgumentOutOfRangeException>(() => new PerMessageDeflateCompressor(PerMessageDeflateParameters.Default, zlib with { Codec = (PerMessageDeflateCodec)7 }));
    }

    // Native state is allocated on first use, and with no-context-takeover given back after every message.
    [Fact]
    public void NativeState_IsLazyAndReleasedWithoutContextTakeover()
    {
        var backend = new CountingBackend();
        var compressor = new PerMessageDeflateCompressor(new PerMessageDeflateParameters(true, false, 15, 15), 6, WebSocketRole.Server, backend);
        Assert.Equal(0, backend.DeflatersCreated);
        Compress(compressor, Hello);
        Compress(compressor, Hello);
        Assert.Equal(1, backend.DeflatersCreated);
        Assert.Equal(2, backend.Resets);
        compressor.Dispose();
        Assert.Equal(1, backend.Disposed);
    }

    [Fact]
    public void NativeState_WithContextTakeover_IsKeptUntilDispose()
    {
        var backend = new CountingBackend();
        var compressor = new PerMessageDeflateCompressor(PerMessageDeflateParameters.Default, 6, WebSocketRole.Server, backend);
        Compress(compressor, Hello);
        Compress(compressor, Hello);
        Assert.Equal((1, 0, 0), (backend.DeflatersCreated, backend.Resets, backend.Disposed));
        compressor.Dispose();
        Assert.Equal(1, backend.Disposed);
    }

    /// <summary>Wraps the real backend and counts what the compressor asks of it.</summary>
    internal sealed class CountingBackend : IDeflateBackend
    {
        public int DeflatersCreated { get; private set; }

        public int InflatersCreated { get; private set; }

        public int Resets { get; private set; }

        public int Disposed { get; private set; }

        public string Name => "counting";

        public IRawDeflater CreateDeflater(int compressionLevel, int windowBits)
        {
            DeflatersCreated++;
            return new Deflater(this, DeflateStreamBackend.Instance.CreateDeflater(compressionLevel, windowBits));
        }

        public IRawInflater CreateInflater(int windowBits)
        {
            InflatersCreated++;
            return new Inflater(this, DeflateStreamBackend.Instance.CreateInflater(windowBits));
        }

        private sealed class Deflater(CountingBackend owner, IRawDeflater inner) : IRawDeflater
        {
            public void CompressAndFlush(ReadOnlySpan<byte> input, IBufferWriter<byte> output) => inner.CompressAndFlush(input, output);

            public void PrepareSingleMessage(int length) => inner.PrepareSingleMessage(length);

            public void Reset()
            {
                owner.Resets++;
                inner.Reset();
            }

            public void Dispose()
            {
                owner.Disposed++;
                inner.Dispose();
            }
        }

        private sealed class Inflater(CountingBackend owner, IRawInflater inner) : IRawInflater
        {
            public OperationStatus Inflate(ReadOnlySpan<byte> input, Span<byte> output, out int consumed, out int written) =>
                inner.Inflate(input, output, out consumed, out written);

            public void Reset()
            {
                owner.Resets++;
                inner.Reset();
            }

            public void Dispose()
            {
                owner.Disposed++;
                inner.Dispose();
            }
        }
    }
}
