using Shockwave.Tests.Shared;
using System.Buffers;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.Unicode;
using Shockwave.Protocol.Tests.Support;

namespace Shockwave.Protocol.Tests;

/// <summary>
/// The send rules of RFC 6455 sections 5 and 7 that <see cref="WebSocketFrameWriter"/> owns, checked byte for byte
/// with explicit mask keys; the round trips through the reader, per role, are in
/// <see cref="WebSocketFrameWriterRoundTripTests"/>.
/// </summary>
public class WebSocketFrameWriterTests
{
    // The section 5.7 key 37 fa 21 3d, in the wire-order uint the writer and WebSocketMask take.
    private static readonly uint Rfc6455Key = MemoryMarshal.Read<uint>([0x37, 0xFA, 0x21, 0x3D]);

    // ---- RFC 6455 section 5.7 examples, exact bytes ----

    [Theory]
    [InlineData((int)WebSocketOpcode.Text, "Hello", false, "81 05 48 65 6c 6c 6f")] // single-frame unmasked text
    [InlineData((int)WebSocketOpcode.Text, "Hello", true, "81 85 37 fa 21 3d 7f 9f 4d 51 58")] // single-frame masked text
    [InlineData((int)WebSocketOpcode.Ping, "Hello", false, "89 05 48 65 6c 6c 6f")] // unmasked ping
    [InlineData((int)WebSocketOpcode.Pong, "Hello", true, "8a 85 37 fa 21 3d 7f 9f 4d 51 58")] // masked pong
    public void WriteFrame_Rfc6455Section57Example_MatchesWireBytes(int opcode, string payload, bool masked, string expected)
    {
        var output = new ArrayBufferWriter<byte>();

        WebSocketFrameWriter.WriteFrame(output, (WebSocketOpcode)opcode, fin: true, rsv1: false, Encoding.UTF8.GetBytes(payload), masked ? Rfc6455Key : null);

        Assert.Equal(FrameBuilder.Hex(expected), output.WrittenSpan.ToArray());
    }

    // Section 5.7: a fragmented unmasked text message, "Hel" then "lo" (R6455-5.4-f, R6455-6.1-d, R6455-6.1-e).
    [Fact]
    public void WriteFrame_Rfc6455Section57FragmentedHello_MatchesWireBytes()
    {
        var output = new ArrayBufferWriter<byte>();

        WebSocketFrameWriter.WriteFrame(output, WebSocketOpcode.Text, fin: false, rsv1: false, "Hel"u8, maskKey: null);
        WebSocketFrameWriter.WriteFrame(output, WebSocketOpcode.Continuation, fin: true, rsv1: false, "lo"u8, maskKey: null);

        Assert.Equal(FrameBuilder.Hex("01 03 48 65 6c 80 02 6c 6f"), output.WrittenSpan.ToArray());
    }

    // Section 5.7: 256 bytes and 64 KiB of binary in one unmasked frame: headers 82 7E 0100 and 82 7F 0000000000010000.
    [Theory]
    [InlineData(256, "82 7E 01 00")]
    [InlineData(65536, "82 7F 00 00 00 00 00 01 00 00")]
    public void WriteFrame_Rfc6455Section57BinaryExamples_MatchWireBytes(int length, string header)
    {
        var payload = RandomPayloads.RandomBytes(new Random(length), length);
        var output = new ArrayBufferWriter<byte>();

        WebSocketFrameWriter.WriteFrame(output, WebSocketOpcode.Binary, fin: true, rsv1: false, payload, maskKey: null);

        Assert.Equal([.. FrameBuilder.Hex(header), .. payload], output.WrittenSpan.ToArray());
    }

    // ---- Section 5.2: lengths ----

    // R6455-5.2-e: the minimal encoding at each boundary; R6455-5.2-d: the 64-bit form never has its top bit set.
    [Theory]
    [InlineData(0L, "82 00")]
    [InlineData(1L, "82 01")]
    [InlineData(125L, "82 7D")]
    [InlineData(126L, "82 7E 00 7E")]
    [InlineData(127L, "82 7E 00 7F")]
    [InlineData(65535L, "82 7E FF FF")]
    [InlineData(65536L, "82 7F 00 00 00 00 00 01 00 00")]
    [InlineData(0x1_0000_0000L, "82 7F 00 00 00 01 00 00 00 00")]
    [InlineData(long.MaxValue, "82 7F 7F FF FF FF FF FF FF FF")]
    public void WriteHeader_LengthBoundaries_UseTheMinimalEncoding(long length, string expected)
    {
        var header = new byte[WebSocketFrameWriter.MaxHeaderLength];

        var written = WebSocketFrameWriter.WriteHeader(header, WebSocketOpcode.Binary, fin: true, rsv1: false, length, maskKey: null);

        Assert.Equal(FrameBuilder.Hex(expected), header[..written]);
        Assert.Equal(written, WebSocketFrameWriter.GetHeaderLength(length, masked: false));

        // Masked: the same encoding with the MASK bit, then the 4 key bytes in wire order.
        written = WebSocketFrameWriter.WriteHeader(header, WebSocketOpcode.Binary, fin: true, rsv1: false, length, Rfc6455Key);
        byte[] masked = [.. FrameBuilder.Hex(expected), 0x37, 0xFA, 0x21, 0x3D];
        masked[1] |= 0x80;
        Assert.Equal(masked, header[..written]);
        Assert.Equal(written, WebSocketFrameWriter.GetHeaderLength(length, masked: true));
    }

    // R6455-5.2-e for every length around both boundaries: the encoding is the shortest that holds it.
    [Fact]
    public void WriteHeader_EveryLengthAroundTheBoundaries_IsMinimalAndDecodesBack()
    {
        Span<byte> header = stackalloc byte[WebSocketFrameWriter.MaxHeaderLength];
        foreach (var length in Enumerable.Range(0, 1024).Concat(Enumerable.Range(65_024, 1024)))
        {
            var written = WebSocketFrameWriter.WriteHeader(header, WebSocketOpcode.Binary, fin: true, rsv1: false, length, maskKey: null);

            var expectedLength = length <= 125 ? 2 : length <= 65535 ? 4 : 10;
            Assert.Equal(expectedLength, written);
            var status = WebSocketFrameReader.TryReadHeader(new ReadOnlySequence<byte>(header[..written].ToArray()), WebSocketRole.Client, new FrameReaderOptions(), out var decoded, out _);
            Assert.Equal(OperationStatus.Done, status);
            Assert.Equal(length, decoded.PayloadLength);
        }
    }

    [Fact]
    public void WriteHeader_NegativeLength_Throws()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => WebSocketFrameWriter.WriteHeader(new byte[14], WebSocketOpcode.Binary, true, false, -1, null));
    }

    // ---- Section 5.2: bits ----

    // R6455-5.2-a: RSV1 only when asked for (a permessage-deflate first frame), RSV2 and RSV3 never; FIN and the
    // opcode as given (R6455-6.1-d, R6455-6.1-e).
    [Theory]
    [InlineData((int)WebSocketOpcode.Text, true, false, 0x81)]
    [InlineData((int)WebSocketOpcode.Text, true, true, 0xC1)]
    [InlineData((int)WebSocketOpcode.Binary, false, true, 0x42)]
    [InlineData((int)WebSocketOpcode.Continuation, false, false, 0x00)]
    [InlineData((int)WebSocketOpcode.Continuation, true, false, 0x80)]
    [InlineData((int)WebSocketOpcode.Close, true, false, 0x88)]
    [InlineData((int)WebSocketOpcode.Ping, true, false, 0x89)]
    [InlineData((int)WebSocketOpcode.Pong, true, false, 0x8A)]
    public void WriteFrame_FirstByte_CarriesExactlyFinRsv1AndOpcode(int opcode, bool fin, bool rsv1, int expected)
    {
        var output = new ArrayBufferWriter<byte>();

        WebSocketFrameWriter.WriteFrame(output, (WebSocketOpcode)opcode, fin, rsv1, "x"u8, maskKey: null);

        Assert.Equal(expected, output.WrittenSpan[0]);
    }

    // R6455-5.5-a: exactly 125 bytes is still a legal control frame.
    [Fact]
    public void WriteFrame_ControlFrameWith125Bytes_IsWritten()
    {
        var output = new ArrayBufferWriter<byte>();

        WebSocketFrameWriter.WriteFrame(output, WebSocketOpcode.Ping, fin: true, rsv1: false, new byte[125], maskKey: null);

        Assert.Equal(new byte[] { 0x89, 0x7D }, output.WrittenSpan[..2].ToArray());
        Assert.Equal(127, output.WrittenCount);
    }

    // ---- Section 5.1 / 5.3: masking by role ----

    // R6455-5.1-c: a server never masks.
    [Theory]
    [InlineData(0)]
    [InlineData(125)]
    [InlineData(126)]
    [InlineData(65536)]
    public void WriteFrame_ServerRole_NeverMasks(int length)
    {
        var payload = RandomPayloads.RandomBytes(new Random(length), length);
        var output = new ArrayBufferWriter<byte>();

        WebSocketFrameWriter.WriteFrame(output, WebSocketRole.Server, WebSocketOpcode.Binary, fin: true, rsv1: false, payload);

        Assert.Equal(0, output.WrittenSpan[1] & 0x80);
        Assert.Equal(payload, output.WrittenSpan[WebSocketFrameWriter.GetHeaderLength(length, masked: false)..].ToArray());
    }

    // R6455-5.1-a, R6455-5.3-a, R6455-6.1-f: a client always masks; R6455-5.3-b: with a fresh key for every frame;
    // and the caller's payload is left as it was.
    [Fact]
    public void WriteFrame_ClientRole_MasksEveryFrameWithAFreshKey()
    {
        var payload = "the same payload every time"u8.ToArray();
        var keys = new HashSet<uint>();
        for (var i = 0; i < 32; i++)
        {
            var output = new ArrayBufferWriter<byte>();
            WebSocketFrameWriter.WriteFrame(output, WebSocketRole.Client, WebSocketOpcode.Text, fin: true, rsv1: false, payload);

            var frame = output.WrittenSpan;
            Assert.Equal(0x80, frame[1] & 0x80);
            var key = MemoryMarshal.Read<uint>(frame[2..6]);
            keys.Add(key);
            var unmasked = frame[6..].ToArray();
            WebSocketMask.Apply(unmasked, key, 0);
            Assert.Equal(payload, unmasked);
        }

        Assert.Equal(32, keys.Count);
        Assert.Equal("the same payload every time"u8.ToArray(), payload);
    }

    // A writer that hands out small spans makes the payload land in many pieces: the mask offset must carry over.
    [Theory]
    [InlineData(1)]
    [InlineData(7)]
    [InlineData(64)]
    public void WriteFrame_WriterWithSmallSpans_GivesTheSameBytes(int spanSize)
    {
        var payload = RandomPayloads.RandomBytes(new Random(spanSize), 1000);
        foreach (uint? key in new uint?[] { null, Rfc6455Key })
        {
            var expected = new ArrayBufferWriter<byte>();
            WebSocketFrameWriter.WriteFrame(expected, WebSocketOpcode.Binary, true, false, payload, key);
            var chunked = new SmallSpanWriter(spanSize);

            WebSocketFrameWriter.WriteFrame(chunked, WebSocketOpcode.Binary, true, false, payload, key);

            Assert.Equal(expected.WrittenSpan.ToArray(), chunked.Written);
        }
    }

    // The sequence-payload overload (echoing a received message) gives the bytes of the span overload, however the
    // sequence is segmented (empty segments included), masked or not.
    [Theory]
    [InlineData(0)]
    [InlineData(5)]
    [InlineData(125)]
    [InlineData(126)]
    [InlineData(70_000)]
    public void WriteFrame_SequencePayload_MatchesSpanPayload(int length)
    {
        var random = new Random(length);
        var payload = RandomPayloads.RandomBytes(random, length);
        foreach (uint? key in new uint?[] { null, Rfc6455Key, 0xDEADBEEF })
        {
            var expected = new ArrayBufferWriter<byte>();
            WebSocketFrameWriter.WriteFrame(expected, WebSocketOpcode.Binary, fin: true, rsv1: false, payload, key);
            for (var trial = 0; trial < 8; trial++)
            {
                var blocks = new List<ReadOnlyMemory<byte>>();
                var position = 0;
                while (position < length || blocks.Count < 2)
                {
                    var size = Math.Min(random.Next(0, 1 + (length / 3)), length - position);
                    blocks.Add(payload.AsMemory(position, size));
                    position += size;
                }

                var sequence = BufferSegment.Sequence(blocks);
                var output = new SmallSpanWriter(random.Next(1, 300));

                WebSocketFrameWriter.WriteFrame(output, WebSocketOpcode.Binary, fin: true, rsv1: false, sequence, key);

                Assert.Equal(expected.WrittenSpan.ToArray(), output.Written);
            }
        }
    }

    // ---- Section 5.5.1 and 7: close frames ----

    // R6455-7.1.2-a, R6455-5.5.1-a: a close frame carries the code in network byte order, then the reason.
    [Fact]
    public void WriteClose_CodeAndReason_MatchesWireBytes()
    {
        var output = new ArrayBufferWriter<byte>();

        WebSocketFrameWriter.WriteClose(output, WebSocketRole.Server, WebSocketCloseStatus.NormalClosure, "bye");
        WebSocketFrameWriter.WriteClose(output, WebSocketRole.Server, (WebSocketCloseStatus)4321, "");
        WebSocketFrameWriter.WriteClose(output, WebSocketRole.Server, null, "dropped: no code, no reason");

        Assert.Equal(FrameBuilder.Hex("88 05 03 E8 62 79 65  88 02 10 E1  88 00"), output.WrittenSpan.ToArray());
    }

    // R6455-5.5-a, R6455-5.5.1-a: a reason longer than 123 bytes is cut at a character boundary, so the close frame
    // stays within 125 bytes and its reason stays UTF-8.
    [Theory]
    [InlineData("a", 123, "", 123)]
    [InlineData("a", 124, "", 123)]
    [InlineData("a", 122, "€", 122)] // the 3-byte euro sign would end at byte 125
    [InlineData("a", 120, "€", 123)] // ... and fits exactly here
    [InlineData("a", 121, "😀", 121)] // a surrogate pair is one 4-byte character: all or nothing
    [InlineData("a", 119, "😀", 123)]
    [InlineData("é", 62, "", 122)]
    [InlineData("€", 41, "x", 123)]
    [InlineData("😀", 40, "", 120)]
    public void WriteClose_LongReason_IsTruncatedAtACharacterBoundary(string unit, int count, string tail, int expectedReasonBytes)
    {
        var reason = string.Concat(Enumerable.Repeat(unit, count)) + tail;
        var output = new ArrayBufferWriter<byte>();

        WebSocketFrameWriter.WriteClose(output, WebSocketRole.Server, WebSocketCloseStatus.PolicyViolation, reason);

        var frame = output.WrittenSpan;
        Assert.Equal(0x88, frame[0]);
        Assert.Equal(2 + expectedReasonBytes, frame[1]);
        var reasonBytes = frame[4..];
        Assert.Equal(expectedReasonBytes, reasonBytes.Length);
        Assert.True(Utf8.IsValid(reasonBytes));
        Assert.StartsWith(Encoding.UTF8.GetString(reasonBytes), reason, StringComparison.Ordinal);
        Assert.True(ClosePayload.Validate(frame[2..], out _));
    }

    // R6455-7.4.1-a/-b/-c: 1005, 1006 and 1015 never go on the wire; neither does any other code invalid there.
    [Theory]
    [InlineData(0)]
    [InlineData(999)]
    [InlineData(1004)]
    [InlineData(1005)]
    [InlineData(1006)]
    [InlineData(1015)]
    [InlineData(2999)]
    [InlineData(5000)]
    public void WriteClose_CodeInvalidOnTheWire_Throws(int code)
    {
        var output = new ArrayBufferWriter<byte>();

        Assert.Throws<ArgumentOutOfRangeException>(() => WebSocketFrameWriter.WriteClose(output, WebSocketRole.Server, (WebSocketCloseStatus)code, "x"));
        Assert.Equal(0, output.WrittenCount);
    }

    /// <summary>An <see cref="IBufferWriter{T}"/> that never offers more than a few bytes at a time.</summary>
    private sealed class SmallSpanWriter(int spanSize) : IBufferWriter<byte>
    {
        private readonly List<byte> _written = [];
        private byte[] _current = [];

        public byte[] Written => [.. _written];

        public void Advance(int count)
        {
            Assert.InRange(count, 0, _current.Length);
            _written.AddRange(_current.AsSpan(0, count));
            _current = [];
        }

        public Memory<byte> GetMemory(int sizeHint = 0)
        {
            _current = new byte[Math.Max(sizeHint, spanSize)];
            _current.AsSpan().Fill(0xCC);
            return _current;
        }

        public Span<byte> GetSpan(int sizeHint = 0) => GetMemory(sizeHint).Span;
    }
}

/// <summary>
/// Writer to reader: what one role writes, the other role's reader reads back exactly (client frames masked with
/// random keys into a server reader, server frames unmasked into a client reader).
/// </summary>
public abstract class WebSocketFrameWriterRoundTripTests
{
    protected abstract WebSocketRole WriterRole { get; }

    private WebSocketRole ReaderRole => WriterRole == WebSocketRole.Server ? WebSocketRole.Client : WebSocketRole.Server;

    // R6455-6.1-c, R6455-6.2-a, and R6455-5.1-a/-c by role: lengths around every encoding boundary.
    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(125)]
    [InlineData(126)]
    [InlineData(127)]
    [InlineData(65535)]
    [InlineData(65536)]
    [InlineData(65537)]
    public void WrittenFrame_IsReadBackByThePeer(int length)
    {
        var payload = RandomPayloads.RandomBytes(new Random(length), length);
        var output = new ArrayBufferWriter<byte>();

        WebSocketFrameWriter.WriteFrame(output, WriterRole, WebSocketOpcode.Binary, fin: true, rsv1: false, payload);

        Assert.Equal(WriterRole == WebSocketRole.Client, (output.WrittenSpan[1] & 0x80) != 0);
        var reader = ReaderHarness.Run(ReaderRole, null, output.WrittenSpan.ToArray());
        Assert.Equal([ReaderEvent.Message(WebSocketOpcode.Binary, payload)], reader.Events);
    }

    // Seeded random messages (text and binary, whole and fragmented, all three encodings) with pings, pongs and a
    // close, through all three writer overloads, read back in random pieces.
    [Fact]
    public void SeededRandomTraffic_IsReadBackExactly()
    {
        var random = new Random(WriterRole == WebSocketRole.Client ? 1 : 2);
        var output = new ArrayBufferWriter<byte>();
        var expected = new List<ReaderEvent>();
        for (var message = 0; message < 200; message++)
        {
            if (random.Next(6) == 0)
            {
                var ping = RandomPayloads.RandomBytes(random, random.Next(0, 126));
                WebSocketFrameWriter.WriteFrame(output, WriterRole, WebSocketOpcode.Ping, true, false, ping);
                expected.Add(ReaderEvent.Control(WebSocketOpcode.Ping, ping));
                continue;
            }

            var opcode = random.Next(2) == 0 ? WebSocketOpcode.Text : WebSocketOpcode.Binary;
            var length = random.Next(8) == 0 ? random.Next(65_000, 70_000) : random.Next(0, 400);
            var payload = opcode == WebSocketOpcode.Text ? RandomPayloads.RandomUtf8(random, length, exact: false) : RandomPayloads.RandomBytes(random, length);
            var fragments = random.Next(3) == 0 ? random.Next(2, 6) : 1;
            var start = 0;
            for (var i = 0; i < fragments; i++)
            {
                var end = i == fragments - 1 ? payload.Length : random.Next(start, payload.Length + 1);
                var frameOpcode = i == 0 ? opcode : WebSocketOpcode.Continuation;
                var fin = i == fragments - 1;
                var piece = payload.AsMemory(start..end);
                switch (random.Next(3))
                {
                    case 0:
                        WebSocketFrameWriter.WriteFrame(output, WriterRole, frameOpcode, fin, false, piece.Span);
                        break;
                    case 1:
                        WebSocketFrameWriter.WriteFrame(output, frameOpcode, fin, false, piece.Span, MaskFor(random));
                        break;
                    default:
                        var half = piece.Length / 2;
                        var sequence = BufferSegment.Sequence([piece[..half], piece[half..]]);
                        WebSocketFrameWriter.WriteFrame(output, frameOpcode, fin, false, sequence, MaskFor(random));
                        break;
                }

                start = end;
            }

            expected.Add(ReaderEvent.Message(opcode, payload, frames: fragments));
        }

        WebSocketFrameWriter.WriteClose(output, WriterRole, WebSocketCloseStatus.EndpointUnavailable, "going away");
        expected.Add(ReaderEvent.Control(WebSocketOpcode.Close, FrameBuilder.ClosePayloadBytes(1001, "going away"u8)));
        var options = new FrameReaderOptions { MaxFragmentsPerMessage = 8 };

        var whole = ReaderHarness.Run(ReaderRole, options, output.WrittenSpan.ToArray());
        var pieces = ReaderHarness.Run(ReaderRole, options, Feeds.Random(output.WrittenSpan.ToArray(), random));

        Assert.Equal(expected, whole.Events);
        Assert.Equal(expected, pieces.Events);
    }

    // R6455-7.1.2-a: the close frame each role writes is one the peer accepts and parses back.
    [Fact]
    public void WrittenClose_IsReadBackByThePeer()
    {
        var output = new ArrayBufferWriter<byte>();
        var reason = string.Concat(Enumerable.Repeat("ü", 70));

        WebSocketFrameWriter.WriteClose(output, WriterRole, (WebSocketCloseStatus)3001, reason);

        var reader = ReaderHarness.Run(ReaderRole, null, output.WrittenSpan.ToArray());
        var close = Assert.Single(reader.Pieces);
        Assert.Equal(FrameReadStatus.ControlFrame, close.Status);
        Assert.Equal(((WebSocketCloseStatus)3001, reason[..61]), ClosePayload.Parse(new ReadOnlySequence<byte>(close.Payload)));
    }

    // The explicit-key overloads follow the role too: a frame masked for a client is what a server reads.
    private uint? MaskFor(Random random) => WriterRole == WebSocketRole.Client ? (uint)random.NextInt64(0, 1L << 32) : null;
}

public sealed class ServerFrameWriterRoundTripTests : WebSocketFrameWriterRoundTripTests
{
    protected override WebSocketRole WriterRole => WebSocketRole.Server;
}

public sealed class ClientFrameWriterRoundTripTests : WebSocketFrameWriterRoundTripTests
{
    protected override WebSocketRole WriterRole => WebSocketRole.Client;
}
