using System.Buffers;
using Shockwave.Protocol.Compression;
using static Shockwave.Protocol.Tests.Compression.DeflateTestData;

namespace Shockwave.Protocol.Tests.Compression;

public class PerMessageDeflateCompressorTests
{
    private static readonly byte[] Hello = "Hello"u8.ToArray();

    private static PerMessageDeflateCompressor Create(bool noContextTakeover = false, int windowBits = 15, int level = 6) =>
        new(new PerMessageDeflateParameters(noContextTakeover, false, windowBits, 15), level);

    // RFC 7692 section 7.2.3.1 and R7692-6.1-a: "Hello" is f2 48 cd c9 c9 07 00 after the trailer is removed.
    [Fact]
    public void Hello_CompressesToTheRfcBytes()
    {
        using var compressor = Create();
        Assert.Equal(Convert.FromHexString("F248CDC9C90700"), Compress(compressor, Hello));
    }

    // RFC 7692 section 7.2.3.2: with context takeover the second "Hello" is a back-reference into the first.
    [Fact]
    public void SecondHello_WithContextTakeover_RefersToTheFirst()
    {
        using var compressor = Create();
        Compress(compressor, Hello);
        Assert.Equal(Convert.FromHexString("F200110000"), Compress(compressor, Hello));
    }

    // R7692-7.2.1-e: with server_no_context_takeover every message starts from an empty window.
    [Fact]
    public void RepeatedHello_WithoutContextTakeover_IsIdenticalEachTime()
    {
        using var compressor = Create(noContextTakeover: true);
        for (int i = 0; i < 3; i++)
        {
            Assert.Equal(Convert.FromHexString("F248CDC9C90700"), Compress(compressor, Hello));
        }
    }

    // RFC 7692 section 7.2.3.6: an empty message is a single 00, also right after another message (zlib writes nothing then).
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void EmptyMessage_IsOneZeroByte(bool noContextTakeover)
    {
        using var compressor = Create(noContextTakeover);
        var decompressor = new PerMessageDeflateDecompressor(new PerMessageDeflateParameters(false, noContextTakeover, 15, 15), 1 << 20, WebSocketRole.Client);
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
    [Fact]
    public void MessageInParts_KeepsTrailerOnAllButTheLastPart()
    {
        using var compressor = Create();
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

    [Fact]
    public void MessageInParts_EmptyLastPart_EndsWithAnEmptyBlockStart()
    {
        using var compressor = Create();
        var first = new ArrayBufferWriter<byte>();
        compressor.CompressPart("abc"u8, endOfMessage: false, first);
        var last = new ArrayBufferWriter<byte>();
        compressor.CompressPart([], endOfMessage: true, last);
        Assert.Equal([0x00], last.WrittenSpan.ToArray());
        Assert.Equal("abc"u8.ToArray(), InflateFresh([.. first.WrittenSpan, .. last.WrittenSpan]));
    }

    // R7692-6.1-a, R7692-7.2.1-c: the output is raw DEFLATE any inflater decodes, for sizes from 1 byte to several MiB.
    [Theory]
    [InlineData(1)]
    [InlineData(31)]
    [InlineData(1000)]
    [InlineData(65_536)]
    [InlineData(1_000_000)]
    [InlineData(4 * 1024 * 1024)]
    public void AnySize_RoundTripsThroughAnIndependentInflater(int size)
    {
        using var compressor = Create();
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
    [Fact]
    public void ContextTakeover_IsReal()
    {
        using var compressor = Create();
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
    [Fact]
    public void NoContextTakeover_EveryMessageDecodesAlone()
    {
        using var compressor = Create(noContextTakeover: true);
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
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(9)]
    public void AnyLevel_RoundTrips(int level)
    {
        using var compressor = Create(level: level);
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
        var compressor = Create();
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
        Assert.Throws<ArgumentOutOfRangeException>(() => Create(windowBits: windowBits, level: level));

    [Fact]
    public void RoleClient_UsesTheClientSideParameters()
    {
        var parameters = new PerMessageDeflateParameters(ServerNoContextTakeover: false, ClientNoContextTakeover: true, 15, 10);
        using var client = new PerMessageDeflateCompressor(parameters, role: WebSocketRole.Client);
        using var server = new PerMessageDeflateCompressor(parameters);
        Assert.Equal((10, true), (client.WindowBits, client.NoContextTakeover));
        Assert.Equal((15, false), (server.WindowBits, server.NoContextTakeover));
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

        public IRawInflater CreateInflater()
        {
            InflatersCreated++;
            return new Inflater(this, DeflateStreamBackend.Instance.CreateInflater());
        }

        private sealed class Deflater(CountingBackend owner, IRawDeflater inner) : IRawDeflater
        {
            public void CompressAndFlush(ReadOnlySpan<byte> input, IBufferWriter<byte> output) => inner.CompressAndFlush(input, output);

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
