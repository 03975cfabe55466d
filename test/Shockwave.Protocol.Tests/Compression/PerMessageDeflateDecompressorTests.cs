using System.Buffers;
using System.IO.Compression;
using Shockwave.Protocol.Compression;
using static Shockwave.Protocol.Tests.Compression.DeflateTestData;

namespace Shockwave.Protocol.Tests.Compression;

public class PerMessageDeflateDecompressorTests
{
    public static TheoryData<string, int> CodecsAndLimits
    {
        get
        {
            var data = new TheoryData<string, int>();
            foreach (string codec in CodecNames)
            {
                foreach (int limit in new[] { 1, 5000, 100_000 })
                {
                    data.Add(codec, limit);
                }
            }

            return data;
        }
    }

    public static TheoryData<string, string> CodecsAndInvalidPayloads
    {
        get
        {
            var data = new TheoryData<string, string>();
            foreach (string codec in CodecNames)
            {
                // 07: BTYPE 11 is reserved (RFC 1951 section 3.2.3); the last is a stored block whose NLEN is not ~LEN.
                foreach (string hex in new[] { "FF", "FFFFFFFFFF", "07", "000500FBFF48656C6C6F00" })
                {
                    data.Add(codec, hex);
                }
            }

            return data;
        }
    }

    private static string Text(PerMessageDeflateDecompressor decompressor, string hex) =>
        System.Text.Encoding.ASCII.GetString(Decompress(decompressor, Convert.FromHexString(hex)));

    // RFC 7692 section 7.2.3.1 (R7692-6.2-a): one message, whole or split across frames at any byte.
    [Theory]
    [MemberData(nameof(Codecs), MemberType = typeof(DeflateTestData))]
    public void RfcHello_DecodesWholeAndSplit(string codec)
    {
        using var decompressor = Decompressor(codec);
        Assert.Equal("Hello", Text(decompressor, "F248CDC9C90700"));
        var payload = Convert.FromHexString("F248CDC9C90700");
        for (int cut = 0; cut <= payload.Length; cut++)
        {
            var output = new ArrayBufferWriter<byte>();
            Assert.Equal(DecompressionStatus.Done, decompressor.Decompress(payload.AsSpan(0, cut), output));
            Assert.Equal(DecompressionStatus.Done, decompressor.Decompress(payload.AsSpan(cut), output));
            Assert.Equal(DecompressionStatus.Done, decompressor.Finish(output));
            Assert.Equal("Hello"u8.ToArray(), output.WrittenSpan.ToArray());
        }
    }

    // RFC 7692 section 7.2.3.2, R7692-7.2.2-b: the second message refers into the first through the kept window.
    [Theory]
    [MemberData(nameof(Codecs), MemberType = typeof(DeflateTestData))]
    public void RfcSharedWindow_SecondMessageUsesTheFirst(string codec)
    {
        using var decompressor = Decompressor(codec);
        Assert.Equal("Hello", Text(decompressor, "F248CDC9C90700"));
        Assert.Equal("Hello", Text(decompressor, "F200110000"));
    }

    // R7692-7.2.2-b: after an uncompressed message the window is unchanged; the decompressor never saw it.
    [Theory]
    [MemberData(nameof(Codecs), MemberType = typeof(DeflateTestData))]
    public void FirstMessageReferringBack_IsInvalid(string codec)
    {
        using var decompressor = Decompressor(codec);
        Assert.Equal(DecompressionStatus.InvalidData, decompressor.DecompressMessage(Convert.FromHexString("F200110000"), new ArrayBufferWriter<byte>()));
    }

    // RFC 7692 sections 7.2.3.3 (stored block) and 7.2.3.5 (two blocks in one message).
    [Theory]
    [MemberData(nameof(Codecs), MemberType = typeof(DeflateTestData))]
    public void RfcOtherBlockShapes_Decode(string codec)
    {
        foreach (string hex in new[] { "000500FAFF48656C6C6F00", "F24805000000FFFFCAC9C90700" })
        {
            using var decompressor = Decompressor(codec);
            Assert.Equal("Hello", Text(decompressor, hex));
            Assert.Equal("Hello", Text(decompressor, "F200110000")); // and the window holds the "Hello"
        }
    }

    // RFC 7692 section 7.2.3.4, R7692-7.2.1-a: a block with BFINAL set ends the peer's stream; the next message starts a new one.
    [Theory]
    [MemberData(nameof(Codecs), MemberType = typeof(DeflateTestData))]
    public void RfcFinalBlock_DecodesAndTheNextMessageStartsFresh(string codec)
    {
        using var decompressor = Decompressor(codec);
        Assert.Equal("Hello", Text(decompressor, "F348CDC9C9070000"));
        Assert.Equal("Hello", Text(decompressor, "F248CDC9C90700"));
        Assert.Equal("Hello", Text(decompressor, "F200110000"));
    }

    [Theory]
    [MemberData(nameof(Codecs), MemberType = typeof(DeflateTestData))]
    public void FinalBlockSplitAcrossFrames_Decodes(string codec)
    {
        using var decompressor = Decompressor(codec);
        var payload = Convert.FromHexString("F348CDC9C9070000");
        var output = new ArrayBufferWriter<byte>();
        Assert.Equal(DecompressionStatus.Done, decompressor.Decompress(payload.AsSpan(0, 3), output));
        Assert.Equal(DecompressionStatus.Done, decompressor.Decompress(payload.AsSpan(3), output));
        Assert.Equal(DecompressionStatus.Done, decompressor.Finish(output));
        Assert.Equal("Hello"u8.ToArray(), output.WrittenSpan.ToArray());
        Assert.Equal("Hello", Text(decompressor, "F348CDC9C9070000"));
    }

    [Theory]
    [MemberData(nameof(Codecs), MemberType = typeof(DeflateTestData))]
    public void PeerClosingEveryMessageWithBfinal_DecodesEveryMessage(string codec)
    {
        // A peer that compresses each message as a complete DEFLATE stream (Z_FINISH instead of a sync flush).
        using var decompressor = Decompressor(codec);
        for (int i = 0; i < 4; i++)
        {
            var message = Json(5000 + i, seed: i);
            using var stream = new MemoryStream();
            using (var deflate = new DeflateStream(stream, CompressionLevel.Optimal, leaveOpen: true))
            {
                deflate.Write(message);
            }

            Assert.Equal(message, Decompress(decompressor, stream.ToArray()));
        }
    }

    // RFC 7692 section 7.2.3.6: an empty message is 00; an empty payload is taken as an empty message too.
    [Theory]
    [MemberData(nameof(Codecs), MemberType = typeof(DeflateTestData))]
    public void EmptyMessages_DecodeAndLeaveTheWindowAlone(string codec)
    {
        using var decompressor = Decompressor(codec);
        Assert.Equal("Hello", Text(decompressor, "F248CDC9C90700"));
        Assert.Equal("", Text(decompressor, "00"));
        Assert.Equal("", Text(decompressor, ""));
        Assert.Equal("Hello", Text(decompressor, "F200110000"));
    }

    [Theory]
    [MemberData(nameof(CodecsAndInvalidPayloads))]
    public void InvalidDeflate_IsInvalidDataAndTheDecompressorIsDone(string codec, string hex)
    {
        using var decompressor = Decompressor(codec);
        var output = new ArrayBufferWriter<byte>();
        Assert.Equal(DecompressionStatus.InvalidData, decompressor.DecompressMessage(Convert.FromHexString(hex), output));
        Assert.Throws<InvalidOperationException>(() => decompressor.Decompress("x"u8, output));
        Assert.Throws<InvalidOperationException>(() => decompressor.Finish(output));
    }

    // R7692-7.2.2-b with an independent peer: a client compressor built on the BCL with context takeover.
    [Theory]
    [MemberData(nameof(Codecs), MemberType = typeof(DeflateTestData))]
    public void PeerWithContextTakeover_MessagesNeedTheKeptWindow(string codec)
    {
        using var peer = new PeerCompressor(noContextTakeover: false);
        using var decompressor = Decompressor(codec);
        var message = Json(4000);
        Assert.Equal(message, Decompress(decompressor, peer.Compress(message)));
        var second = peer.Compress(message);
        Assert.Equal(message, Decompress(decompressor, second));
        Assert.ThrowsAny<InvalidDataException>(() => InflateFresh(second));
    }

    // R7692-7.2.2 with client_no_context_takeover: each message stands alone and the inflater is released between them.
    [Fact]
    public void PeerWithoutContextTakeover_DecodesAndReleasesTheInflater()
    {
        using var peer = new PeerCompressor(noContextTakeover: true);
        var backend = new PerMessageDeflateCompressorTests.CountingBackend();
        using var decompressor = new PerMessageDeflateDecompressor(new PerMessageDeflateParameters(false, true, 15, 15), 1 << 20, WebSocketRole.Server, backend);
        Assert.True(decompressor.PeerNoContextTakeover);
        for (int i = 0; i < 3; i++)
        {
            var message = Json(3000);
            Assert.Equal(message, Decompress(decompressor, peer.Compress(message)));
        }

        Assert.Equal(1, backend.InflatersCreated);
        Assert.Equal(3, backend.Resets);
    }

    [Fact]
    public void Inflater_IsCreatedOnFirstUse()
    {
        var backend = new PerMessageDeflateCompressorTests.CountingBackend();
        using var decompressor = new PerMessageDeflateDecompressor(PerMessageDeflateParameters.Default, 1 << 20, WebSocketRole.Server, backend);
        Assert.Equal(0, backend.InflatersCreated);
        Assert.Equal("Hello", Text(decompressor, "F248CDC9C90700"));
        Assert.Equal("Hello", Text(decompressor, "F200110000"));
        Assert.Equal((1, 0), (backend.InflatersCreated, backend.Resets));
    }

    // The decompression bomb: 100 MB of zeros is about 100 KB of DEFLATE. Inflating stops at the limit, having
    // written no more than the limit, instead of producing 100 MB.
    [Theory]
    [MemberData(nameof(Codecs), MemberType = typeof(DeflateTestData))]
    public void DecompressionBomb_StopsAtTheLimit(string codec)
    {
        const int limit = 1 << 20;
        var bomb = ZerosBomb();
        Assert.True(bomb.Length < 200_000, $"{bomb.Length}");

        using var decompressor = Decompressor(codec, maxMessageSize: limit);
        var output = new ArrayBufferWriter<byte>();
        Assert.Equal(DecompressionStatus.MessageTooBig, decompressor.DecompressMessage(bomb, output));
        Assert.Equal(limit, output.WrittenCount);
        Assert.Equal(limit, decompressor.MessageLength);
        Assert.True(output.Capacity <= 4 * limit, $"capacity {output.Capacity}");
        Assert.Throws<InvalidOperationException>(() => decompressor.Finish(output));
    }

    [Theory]
    [MemberData(nameof(Codecs), MemberType = typeof(DeflateTestData))]
    public void DecompressionBomb_FedInFrames_StopsAtTheLimit(string codec)
    {
        const int limit = 256 * 1024;
        var bomb = ZerosBomb();
        using var decompressor = Decompressor(codec, maxMessageSize: limit);
        var output = new ArrayBufferWriter<byte>();
        var status = DecompressionStatus.Done;
        int offset = 0;
        while (status == DecompressionStatus.Done && offset < bomb.Length)
        {
            int length = Math.Min(1000, bomb.Length - offset);
            status = decompressor.Decompress(bomb.AsSpan(offset, length), output);
            offset += length;
        }

        Assert.Equal(DecompressionStatus.MessageTooBig, status);
        Assert.True(offset < 2000, "stopped within the first frames");
        Assert.Equal(limit, output.WrittenCount);
    }

    // The limit is inclusive: a message of exactly MaxMessageSize bytes is fine, one more byte is not.
    [Theory]
    [MemberData(nameof(CodecsAndLimits))]
    public void MessageOfExactlyTheLimit_IsAcceptedAndOneMoreIsNot(string codec, int limit)
    {
        using var compressor = Compressor(codec);
        var exact = Compress(compressor, Json(limit));
        var over = Compress(compressor, Json(limit + 1));

        using var decompressor = Decompressor(codec, maxMessageSize: limit);
        var output = new ArrayBufferWriter<byte>();
        Assert.Equal(DecompressionStatus.Done, decompressor.DecompressMessage(exact, output));
        Assert.Equal(limit, output.WrittenCount);
        Assert.Equal(0, decompressor.MessageLength); // reset for the next message
        var overflow = new ArrayBufferWriter<byte>();
        Assert.Equal(DecompressionStatus.MessageTooBig, decompressor.DecompressMessage(over, overflow));
        Assert.Equal(limit, overflow.WrittenCount);
    }

    [Theory]
    [MemberData(nameof(Codecs), MemberType = typeof(DeflateTestData))]
    public void SequenceInput_IsDecodedSegmentBySegment(string codec)
    {
        using var compressor = Compressor(codec);
        var message = Json(50_000);
        var payload = Compress(compressor, message);
        var sequence = Segments.Of(payload, 1, 2, 100, 4096);
        using var decompressor = Decompressor(codec);
        var output = new ArrayBufferWriter<byte>();
        Assert.Equal(DecompressionStatus.Done, decompressor.Decompress(sequence, output));
        Assert.Equal(DecompressionStatus.Done, decompressor.Finish(output));
        Assert.Equal(message, output.WrittenSpan.ToArray());
    }

    [Fact]
    public void Dispose_ThenDecompress_Throws()
    {
        var decompressor = new PerMessageDeflateDecompressor(PerMessageDeflateParameters.Default, 100);
        decompressor.Dispose();
        Assert.Throws<ObjectDisposedException>(() => decompressor.Decompress("x"u8, new ArrayBufferWriter<byte>()));
    }

    [Fact]
    public void RoleClient_ReadsTheServerSideParameter()
    {
        var parameters = new PerMessageDeflateParameters(ServerNoContextTakeover: true, ClientNoContextTakeover: false, 15, 15);
        using var client = new PerMessageDeflateDecompressor(parameters, 100, WebSocketRole.Client);
        using var server = new PerMessageDeflateDecompressor(parameters, 100);
        Assert.True(client.PeerNoContextTakeover);
        Assert.False(server.PeerNoContextTakeover);
    }

    private static byte[] ZerosBomb() => LazyBomb.Value;

    private static readonly Lazy<byte[]> LazyBomb = new(() =>
    {
        using var compressed = new MemoryStream();
        using var deflate = new DeflateStream(compressed, CompressionLevel.Optimal, leaveOpen: true);
        var zeros = new byte[1 << 20];
        for (int i = 0; i < 100; i++)
        {
            deflate.Write(zeros);
        }

        // A sync flush and the trailer removed: the payload a peer would send.
        deflate.Flush();
        return compressed.ToArray()[..^4];
    });

    /// <summary>Builds a multi-segment <see cref="ReadOnlySequence{T}"/> with the given segment lengths, the rest in the last.</summary>
    private sealed class Segments : ReadOnlySequenceSegment<byte>
    {
        private Segments(ReadOnlyMemory<byte> memory, long runningIndex)
        {
            Memory = memory;
            RunningIndex = runningIndex;
        }

        public static ReadOnlySequence<byte> Of(byte[] data, params int[] lengths)
        {
            var first = new Segments(data.AsMemory(0, lengths[0]), 0);
            var last = first;
            int offset = lengths[0];
            foreach (int length in lengths.Skip(1).Append(int.MaxValue))
            {
                int take = Math.Min(length, data.Length - offset);
                var next = new Segments(data.AsMemory(offset, take), offset);
                last.Next = next;
                last = next;
                offset += take;
            }

            return new ReadOnlySequence<byte>(first, 0, last, last.Memory.Length);
        }
    }
}
