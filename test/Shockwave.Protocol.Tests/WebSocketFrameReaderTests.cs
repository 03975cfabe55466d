using Shockwave.Tests.Shared;
using System.Buffers;
using System.Text;
using Shockwave.Protocol.Tests.Support;

namespace Shockwave.Protocol.Tests;

/// <summary>
/// The receive rules of RFC 6455 sections 5 and 7 that <see cref="WebSocketFrameReader"/> owns, run once per role.
/// Frames come from <see cref="FrameBuilder"/>, masked as the peer of <see cref="Role"/> sends them (section 5.1),
/// so each test reads the same way from either end; the masking-direction rows differ by role and say so.
/// Every read also runs one byte at a time and must come out the same (R6455-6.2-a).
/// </summary>
public abstract class WebSocketFrameReaderTests
{
    private static readonly FrameReaderOptions Compression = new() { AllowCompressedMessages = true };

    protected abstract WebSocketRole Role { get; }

    public static TheoryData<int> ReservedOpcodes => [3, 4, 5, 6, 7, 0xB, 0xC, 0xD, 0xE, 0xF];

    public static TheoryData<int> ControlOpcodes => [(int)WebSocketOpcode.Close, (int)WebSocketOpcode.Ping, (int)WebSocketOpcode.Pong];

    public static TheoryData<int> AllOpcodes =>
    [
        (int)WebSocketOpcode.Continuation, (int)WebSocketOpcode.Text, (int)WebSocketOpcode.Binary,
        (int)WebSocketOpcode.Close, (int)WebSocketOpcode.Ping, (int)WebSocketOpcode.Pong,
    ];

    private ProtocolError WrongMaskingError => Role == WebSocketRole.Server ? Errors.UnmaskedClientFrame : Errors.MaskedServerFrame;

    // ---- Section 5.1: masking direction ----

    // R6455-5.1-b (server: unmasked client frame fails) and R6455-5.1-d (client: masked server frame fails), for every
    // opcode: the rule is about the frame, not the message.
    [Theory]
    [MemberData(nameof(AllOpcodes))]
    public void FrameMaskedTheWrongWay_FailsWith1002(int opcode)
    {
        var bytes = Peer().Frame((WebSocketOpcode)opcode, "Hi"u8, masked: Role == WebSocketRole.Client).ToArray();

        AssertFails(bytes, WrongMaskingError);
    }

    // R6455-6.2-e (server unmasks; a client has nothing to unmask): the payload comes out as the peer meant it,
    // for mask keys whose bytes all differ and a payload length that is not a multiple of 4.
    [Fact]
    public void FrameMaskedTheRightWay_IsDeliveredUnmasked()
    {
        var payload = Enumerable.Range(0, 203).Select(i => (byte)i).ToArray();
        var bytes = Peer().Frame(WebSocketOpcode.Binary, payload, maskKey: [0x01, 0x23, 0x45, 0x67]).ToArray();

        var reader = Read(bytes);

        Assert.Equal([ReaderEvent.Message(WebSocketOpcode.Binary, payload)], reader.Events);
    }

    // ---- Section 5.2: reserved bits, opcodes, lengths ----

    // R6455-5.2-a, R6455-5.2-b, R6455-5.8-a: without a negotiated extension every RSV bit fails the connection.
    [Theory]
    [InlineData(1, (int)WebSocketOpcode.Text)]
    [InlineData(1, (int)WebSocketOpcode.Binary)]
    [InlineData(1, (int)WebSocketOpcode.Ping)]
    [InlineData(2, (int)WebSocketOpcode.Text)]
    [InlineData(2, (int)WebSocketOpcode.Close)]
    [InlineData(3, (int)WebSocketOpcode.Binary)]
    [InlineData(3, (int)WebSocketOpcode.Pong)]
    public void ReservedBitWithoutExtension_FailsWith1002(int bit, int opcode)
    {
        var bytes = Peer().Frame((WebSocketOpcode)opcode, "x"u8, rsv1: bit == 1, rsv2: bit == 2, rsv3: bit == 3).ToArray();

        AssertFails(bytes, Errors.ReservedBits);
    }

    // R6455-5.2-a, R6455-5.2-b: on a continuation frame too, in the middle of a message.
    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    public void ReservedBitOnContinuationWithoutExtension_FailsWith1002(int bit)
    {
        var bytes = Peer().Text("a", fin: false)
            .Frame(WebSocketOpcode.Continuation, "b"u8, rsv1: bit == 1, rsv2: bit == 2, rsv3: bit == 3)
            .ToArray();

        AssertFails(bytes, Errors.ReservedBits);
    }

    // R6455-5.2-b: permessage-deflate defines RSV1 only; RSV2 and RSV3 still fail.
    [Theory]
    [InlineData(2)]
    [InlineData(3)]
    public void Rsv2OrRsv3WithCompression_FailsWith1002(int bit)
    {
        var bytes = Peer().Frame(WebSocketOpcode.Binary, "x"u8, rsv1: true, rsv2: bit == 2, rsv3: bit == 3).ToArray();

        AssertFails(bytes, Errors.ReservedBits, Compression);
    }

    // R6455-5.2-a with RFC 7692 section 6.1: RSV1 on the first frame marks the whole message compressed. Its text is
    // deflate data, so the reader leaves UTF-8 (R6455-8.1-a) to be checked after inflation.
    [Fact]
    public void Rsv1OnFirstDataFrameWithCompression_MarksEveryPieceCompressed()
    {
        byte[] deflated = [0xF2, 0x48, 0xCD, 0xC9, 0xC9, 0x07, 0x00];
        var bytes = Peer()
            .Frame(WebSocketOpcode.Text, deflated.AsSpan(0, 3), fin: false, rsv1: true)
            .Ping("p"u8)
            .Continuation(deflated.AsSpan(3), fin: true)
            .Frame(WebSocketOpcode.Binary, "plain"u8)
            .ToArray();

        var reader = Read(bytes, Compression);

        Assert.Equal(
            [
                ReaderEvent.Control(WebSocketOpcode.Ping, "p"u8),
                ReaderEvent.Message(WebSocketOpcode.Text, deflated, compressed: true, frames: 2),
                ReaderEvent.Message(WebSocketOpcode.Binary, "plain"u8),
            ],
            reader.Events);
        Assert.All(reader.Pieces.Where(p => p.Opcode == WebSocketOpcode.Text), p => Assert.True(p.IsCompressed));
    }

    // R6455-5.2-b with RFC 7692 section 6.1: RSV1 belongs to the first frame of a message, never a continuation.
    [Fact]
    public void Rsv1OnContinuationWithCompression_FailsWith1002()
    {
        var bytes = Peer()
            .Frame(WebSocketOpcode.Binary, "a"u8, fin: false, rsv1: true)
            .Frame(WebSocketOpcode.Continuation, "b"u8, fin: true, rsv1: true)
            .ToArray();

        AssertFails(bytes, Errors.Rsv1OnContinuation, Compression);
    }

    // R6455-5.2-b with RFC 7692 section 6.1: permessage-deflate gives RSV1 a meaning on data frames only.
    [Theory]
    [MemberData(nameof(ControlOpcodes))]
    public void Rsv1OnControlFrameWithCompression_FailsWith1002(int opcode)
    {
        var bytes = Peer().Frame((WebSocketOpcode)opcode, [], rsv1: true).ToArray();

        AssertFails(bytes, Errors.ReservedBits, Compression);
    }

    // R6455-5.2-c: opcodes 3-7 and 0xB-0xF fail, whether alone or inside a fragmented message.
    [Theory]
    [MemberData(nameof(ReservedOpcodes))]
    public void ReservedOpcode_FailsWith1002(int opcode)
    {
        AssertFails(Peer().Frame((WebSocketOpcode)opcode, "x"u8).ToArray(), Errors.ReservedOpcode);
        AssertFails(Peer().Text("a", fin: false).Frame((WebSocketOpcode)opcode, []).ToArray(), Errors.ReservedOpcode);
    }

    // R6455-5.2-d: the 64-bit length's most significant bit must be 0. The header alone is enough to fail: the
    // reader does not wait for a payload that can never arrive.
    [Theory]
    [InlineData((int)WebSocketOpcode.Binary, 0x8000_0000_0000_0000UL)]
    [InlineData((int)WebSocketOpcode.Text, 0xFFFF_FFFF_FFFF_FFFFUL)]
    [InlineData((int)WebSocketOpcode.Ping, 0x8000_0000_0000_0005UL)]
    public void Length64BitWithMostSignificantBitSet_FailsWith1002(int opcode, ulong length)
    {
        var bytes = Peer().Frame((WebSocketOpcode)opcode, [], form: LengthForm.Extended64, declaredLength: length).ToArray();

        AssertFails(bytes, Errors.LengthMostSignificantBit);
    }

    // R6455-6.2-a: all three length encodings, on both sides of each boundary.
    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(125)]
    [InlineData(126)]
    [InlineData(127)]
    [InlineData(65535)]
    [InlineData(65536)]
    public void DataFrameLength_EachEncoding_IsRead(int length)
    {
        var payload = RandomPayloads.RandomBytes(new Random(length), length);
        var bytes = Peer().Binary(payload).ToArray();

        var reader = Read(bytes, byteAtATime: length < 1000);

        Assert.Equal([ReaderEvent.Message(WebSocketOpcode.Binary, payload)], reader.Events);
    }

    // R6455-5.2-e puts the minimal-encoding MUST on the sender. As a receiver, Shockwave is deliberately lenient
    // (as are ws and System.Net.WebSockets): a longer encoding of a valid length is read, not failed.
    [Theory]
    [InlineData(0, (int)LengthForm.Extended16)]
    [InlineData(5, (int)LengthForm.Extended64)]
    [InlineData(300, (int)LengthForm.Extended64)]
    public void NonMinimalLengthEncoding_IsAccepted(int length, int form)
    {
        var payload = new byte[length];
        var bytes = Peer().Frame(WebSocketOpcode.Binary, payload, form: (LengthForm)form)
            .Frame(WebSocketOpcode.Ping, "p"u8, form: (LengthForm)form)
            .ToArray();

        var reader = Read(bytes);

        Assert.Equal([ReaderEvent.Message(WebSocketOpcode.Binary, payload), ReaderEvent.Control(WebSocketOpcode.Ping, "p"u8)], reader.Events);
    }

    // ---- Section 5.4: fragmentation ----

    // R6455-5.4-f: a continuation frame needs a message in progress; after a FIN frame there is none (R6455-6.2-d).
    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void ContinuationWithoutStart_FailsWith1002(bool fin)
    {
        AssertFails(Peer().Continuation("x", fin).ToArray(), Errors.ContinuationWithoutStart);
        AssertFails(Peer().Text("done").Continuation("x", fin).ToArray(), Errors.ContinuationWithoutStart);
        AssertFails(Peer().Text("a", fin: false).Continuation("b", fin: true).Continuation("c", fin).ToArray(), Errors.ContinuationWithoutStart);
    }

    // R6455-5.4-c, R6455-5.4-f: a new text or binary frame inside an open fragmented message, even after a control
    // frame, fails.
    [Theory]
    [InlineData((int)WebSocketOpcode.Text, (int)WebSocketOpcode.Text)]
    [InlineData((int)WebSocketOpcode.Text, (int)WebSocketOpcode.Binary)]
    [InlineData((int)WebSocketOpcode.Binary, (int)WebSocketOpcode.Text)]
    [InlineData((int)WebSocketOpcode.Binary, (int)WebSocketOpcode.Binary)]
    public void DataFrameInsideFragmentedMessage_FailsWith1002(int first, int second)
    {
        AssertFails(Peer().Frame((WebSocketOpcode)first, "a"u8, fin: false).Frame((WebSocketOpcode)second, "b"u8).ToArray(), Errors.DataFrameInsideMessage);
        AssertFails(
            Peer().Frame((WebSocketOpcode)first, "a"u8, fin: false).Continuation("b", fin: false).Ping().Frame((WebSocketOpcode)second, "c"u8, fin: false).ToArray(),
            Errors.DataFrameInsideMessage);
    }

    // R6455-5.4-d (and R6455-6.2-b): control frames between fragments are delivered at once, in wire order, and
    // the message around them arrives intact.
    [Fact]
    public void ControlFramesBetweenFragments_AreDeliveredAndMessageStaysIntact()
    {
        var close = FrameBuilder.ClosePayloadBytes(1000, "bye"u8);
        var bytes = Peer()
            .Text("Hel", fin: false)
            .Ping("1"u8)
            .Pong("2"u8)
            .Continuation("l", fin: false)
            .Frame(WebSocketOpcode.Close, close)
            .Continuation("o", fin: true)
            .ToArray();

        var reader = Read(bytes);

        Assert.Equal(
            [
                ReaderEvent.Control(WebSocketOpcode.Ping, "1"u8),
                ReaderEvent.Control(WebSocketOpcode.Pong, "2"u8),
                ReaderEvent.Control(WebSocketOpcode.Close, close),
                ReaderEvent.Message(WebSocketOpcode.Text, "Hello"u8, frames: 3),
            ],
            reader.Events);
        Assert.Null(reader.Error);
    }

    // R6455-5.4-e, R6455-6.2-c, R6455-6.2-d: a fragmented message (here 1-byte fragments of 64 KiB) and unfragmented
    // ones around it are all received; the type comes from the first frame; after FIN a new message starts.
    [Fact]
    public void FragmentedAndUnfragmentedMessages_AreBothReceived()
    {
        var payload = RandomPayloads.RandomBytes(new Random(7), 64 * 1024);
        var peer = Peer().Text("before").Binary(payload.AsSpan(0, 1), fin: false);
        for (var i = 1; i < payload.Length; i++)
        {
            peer.Continuation(payload.AsSpan(i, 1), fin: i == payload.Length - 1);
        }

        var bytes = peer.Text("after").ToArray();
        var options = new FrameReaderOptions { MaxFragmentsPerMessage = payload.Length };

        var reader = Read(bytes, options, byteAtATime: false);

        Assert.Equal(
            [
                ReaderEvent.Message(WebSocketOpcode.Text, "before"u8),
                ReaderEvent.Message(WebSocketOpcode.Binary, payload, frames: payload.Length),
                ReaderEvent.Message(WebSocketOpcode.Text, "after"u8),
            ],
            reader.Events);
        Assert.True(reader.Pieces.Skip(1).Take(payload.Length).All(p => p.Opcode == WebSocketOpcode.Binary));
    }

    // R6455-6.2-c: every piece of a fragmented text message reports Text, not Continuation.
    [Fact]
    public void FragmentedText_EveryPieceReportsTheFirstFramesType()
    {
        var reader = Read(Peer().Text("a", fin: false).Continuation("b", fin: false).Continuation("c", fin: true).ToArray());

        Assert.Equal(3, reader.Pieces.Count);
        Assert.All(reader.Pieces, p => Assert.Equal(WebSocketOpcode.Text, p.Opcode));
        Assert.Equal([true, false, false], reader.Pieces.Select(p => p.IsMessageStart));
        Assert.Equal([false, false, true], reader.Pieces.Select(p => p.IsMessageEnd));
    }

    // ---- Section 5.5: control frames ----

    // R6455-5.4-a, R6455-5.5-a: control frames are never fragmented.
    [Theory]
    [MemberData(nameof(ControlOpcodes))]
    public void ControlFrameWithoutFin_FailsWith1002(int opcode)
    {
        AssertFails(Peer().Frame((WebSocketOpcode)opcode, [], fin: false).ToArray(), Errors.FragmentedControlFrame);
        AssertFails(Peer().Text("a", fin: false).Frame((WebSocketOpcode)opcode, [], fin: false).ToArray(), Errors.FragmentedControlFrame);
    }

    // R6455-5.5-a: a control payload over 125 bytes fails on the header, in either extended encoding, before the
    // payload arrives.
    [Theory]
    [InlineData((int)WebSocketOpcode.Close, 126, (int)LengthForm.Minimal)]
    [InlineData((int)WebSocketOpcode.Ping, 126, (int)LengthForm.Minimal)]
    [InlineData((int)WebSocketOpcode.Pong, 126, (int)LengthForm.Minimal)]
    [InlineData((int)WebSocketOpcode.Ping, 65535, (int)LengthForm.Minimal)]
    [InlineData((int)WebSocketOpcode.Ping, 126, (int)LengthForm.Extended64)]
    [InlineData((int)WebSocketOpcode.Pong, 70000, (int)LengthForm.Minimal)]
    public void ControlFramePayloadOver125_FailsWith1002(int opcode, int length, int form)
    {
        var bytes = Peer().Frame((WebSocketOpcode)opcode, [], form: (LengthForm)form, declaredLength: (ulong)length).ToArray();

        AssertFails(bytes, Errors.ControlFrameTooLong);
    }

    // R6455-5.5-a (limit inclusive), R6455-5.5.3-a: a 125-byte ping or pong is delivered byte for byte, so the pong
    // owed can carry exactly the ping's data.
    [Theory]
    [InlineData((int)WebSocketOpcode.Ping)]
    [InlineData((int)WebSocketOpcode.Pong)]
    public void PingOrPongWith125Bytes_IsDeliveredExactly(int opcode)
    {
        var payload = RandomPayloads.RandomBytes(new Random(125), 125);

        var reader = Read(Peer().Frame((WebSocketOpcode)opcode, payload).ToArray());

        Assert.Equal([ReaderEvent.Control((WebSocketOpcode)opcode, payload)], reader.Events);
    }

    // R6455-5.5-a: a control frame is handed out only whole; a partial one consumes nothing.
    [Fact]
    public void PartialControlFrame_IsNotHandedOutUntilWhole()
    {
        var bytes = Peer().Ping("Hello"u8).ToArray();
        var reader = new ReaderHarness(Role);

        Assert.Equal(FrameReadStatus.NeedMoreData, reader.Feed(bytes.AsSpan(0, bytes.Length - 1)));
        Assert.Empty(reader.Pieces);
        Assert.Equal(bytes.Length - 1, reader.Buffered);

        Assert.Equal(FrameReadStatus.NeedMoreData, reader.Feed(bytes.AsSpan(bytes.Length - 1)));
        Assert.Equal([ReaderEvent.Control(WebSocketOpcode.Ping, "Hello"u8)], reader.Events);
        Assert.Equal(0, reader.Buffered);
    }

    // ---- Section 5.5.1 and 7.4: close frames ----

    // R6455-5.5.1-a: a close body, if any, starts with a 2-byte code; one byte cannot hold it.
    [Fact]
    public void CloseWithOneBytePayload_FailsWith1002()
    {
        AssertFails(Peer().Frame(WebSocketOpcode.Close, [0x03]).ToArray(), Errors.CloseFrameLengthOne);
    }

    // R6455-5.5.1-a: the body is optional; an empty close reports 1005 (section 7.1.5) with an empty reason.
    [Fact]
    public void CloseWithEmptyPayload_IsAcceptedAndReportsNoStatus()
    {
        var reader = Read(Peer().Frame(WebSocketOpcode.Close, []).ToArray());

        Assert.Equal([ReaderEvent.Control(WebSocketOpcode.Close)], reader.Events);
        Assert.Equal((WebSocketCloseStatus.NoStatusReceived, string.Empty), ClosePayload.Parse(new ReadOnlySequence<byte>(reader.Pieces[0].Payload)));
    }

    // R6455-7.4.1-a/-b/-c (1005, 1006, 1015 never on the wire) and the section 7.4.2 ranges as commonly enforced:
    // 0-999 unused, 1004 reserved, 1016-2999 unassigned, 5000 and up undefined.
    [Theory]
    [InlineData(0)]
    [InlineData(999)]
    [InlineData(1004)]
    [InlineData(1005)]
    [InlineData(1006)]
    [InlineData(1015)]
    [InlineData(1016)]
    [InlineData(2999)]
    [InlineData(5000)]
    [InlineData(65535)]
    public void CloseWithInvalidCode_FailsWith1002(int code)
    {
        AssertFails(Peer().Close((ushort)code).ToArray(), Errors.InvalidCloseCode);
        AssertFails(Peer().Close((ushort)code, "reason").ToArray(), Errors.InvalidCloseCode);
    }

    // R6455-5.5.1-a, R6455-7.4.1: every code valid on the wire is accepted and parses back in network byte order.
    [Theory]
    [InlineData(1000)]
    [InlineData(1001)]
    [InlineData(1002)]
    [InlineData(1003)]
    [InlineData(1007)]
    [InlineData(1008)]
    [InlineData(1009)]
    [InlineData(1010)]
    [InlineData(1011)]
    [InlineData(1012)]
    [InlineData(1013)]
    [InlineData(1014)]
    [InlineData(3000)]
    [InlineData(4999)]
    public void CloseWithValidCode_IsAcceptedAndParses(int code)
    {
        var reader = Read(Peer().Close((ushort)code, "¡adiós!").ToArray());

        var close = Assert.Single(reader.Pieces);
        Assert.Equal(WebSocketOpcode.Close, close.Opcode);
        Assert.Equal((byte)(code >> 8), close.Payload[0]);
        Assert.Equal(((WebSocketCloseStatus)code, "¡adiós!"), ClosePayload.Parse(new ReadOnlySequence<byte>(close.Payload)));
    }

    // R6455-5.5.1-a with R6455-8.1-a: the reason must be UTF-8, or the connection fails with 1007.
    [Theory]
    [InlineData("FF")]
    [InlineData("C0 AF")]
    [InlineData("ED A0 80")]
    [InlineData("F4 90 80 80")]
    [InlineData("E2 82")]
    [InlineData("80")]
    public void CloseReasonInvalidUtf8_FailsWith1007(string invalid)
    {
        var payload = FrameBuilder.ClosePayloadBytes(1000, [.. "ok "u8, .. FrameBuilder.Hex(invalid)]);

        AssertFails(Peer().Frame(WebSocketOpcode.Close, payload).ToArray(), Errors.InvalidCloseReason);
    }

    // R6455-5.5-a, R6455-5.5.1-a: a code and a 123-byte multi-byte reason fill the 125-byte limit exactly.
    [Fact]
    public void CloseWith123ByteReason_IsAccepted()
    {
        var reason = string.Concat(Enumerable.Repeat("€", 41)); // 41 x 3 bytes
        var reader = Read(Peer().Close(4000, reason).ToArray());

        Assert.Equal(125, Assert.Single(reader.Pieces).Payload.Length);
        Assert.Equal(((WebSocketCloseStatus)4000, reason), ClosePayload.Parse(new ReadOnlySequence<byte>(reader.Pieces[0].Payload)));
    }

    // ---- Limits (section 10.4, close code 1009 per section 7.4.1); every limit is inclusive ----

    [Fact]
    public void FramePayloadAtLimit_IsAccepted()
    {
        var options = new FrameReaderOptions { MaxFramePayloadLength = 300 };
        var payload = new byte[300];

        var reader = Read(Peer().Binary(payload).Text("x").ToArray(), options);

        Assert.Equal([ReaderEvent.Message(WebSocketOpcode.Binary, payload), ReaderEvent.Message(WebSocketOpcode.Text, "x"u8)], reader.Events);
    }

    // The header alone fails it: the reader never waits for, or counts, bytes past a limit.
    [Fact]
    public void FramePayloadOverLimit_FailsWith1009OnTheHeader()
    {
        var options = new FrameReaderOptions { MaxFramePayloadLength = 300 };

        AssertFails(Peer().Frame(WebSocketOpcode.Binary, [], declaredLength: 301).ToArray(), Errors.FrameTooBig, options);
        AssertFails(Peer().Text("a", fin: false).Frame(WebSocketOpcode.Continuation, [], declaredLength: 301).ToArray(), Errors.FrameTooBig, options);
    }

    [Fact]
    public void MessageAtSizeLimitAcrossFragments_IsAccepted()
    {
        var options = new FrameReaderOptions { MaxMessageSize = 100 };
        var bytes = Peer().Binary(new byte[40], fin: false).Ping().Continuation([], fin: false).Continuation(new byte[60], fin: true)
            .Binary(new byte[100])
            .ToArray();

        var reader = Read(bytes, options);

        Assert.Equal(
            [ReaderEvent.Control(WebSocketOpcode.Ping), ReaderEvent.Message(WebSocketOpcode.Binary, new byte[100], frames: 3), ReaderEvent.Message(WebSocketOpcode.Binary, new byte[100])],
            reader.Events);
    }

    [Fact]
    public void MessageOverSizeLimitAcrossFragments_FailsWith1009OnTheHeader()
    {
        var options = new FrameReaderOptions { MaxMessageSize = 100 };

        AssertFails(Peer().Binary(new byte[40], fin: false).Frame(WebSocketOpcode.Continuation, [], declaredLength: 61).ToArray(), Errors.MessageTooBig, options);
        AssertFails(Peer().Frame(WebSocketOpcode.Text, [], declaredLength: 101).ToArray(), Errors.MessageTooBig, options);
    }

    // Control frames between fragments are not fragments of the message.
    [Fact]
    public void FragmentCountAtLimit_IsAccepted()
    {
        var options = new FrameReaderOptions { MaxFragmentsPerMessage = 3 };
        var bytes = Peer().Text("a", fin: false).Ping().Pong().Continuation("b", fin: false).Ping().Continuation("c", fin: true)
            .Text("d", fin: false).Continuation("e", fin: false).Continuation("f", fin: true)
            .ToArray();

        var reader = Read(bytes, options);

        Assert.Equal(
            [
                ReaderEvent.Control(WebSocketOpcode.Ping), ReaderEvent.Control(WebSocketOpcode.Pong), ReaderEvent.Control(WebSocketOpcode.Ping),
                ReaderEvent.Message(WebSocketOpcode.Text, "abc"u8, frames: 3), ReaderEvent.Message(WebSocketOpcode.Text, "def"u8, frames: 3),
            ],
            reader.Events);
    }

    [Fact]
    public void FragmentCountOverLimit_FailsWith1009()
    {
        var options = new FrameReaderOptions { MaxFragmentsPerMessage = 3 };
        var bytes = Peer().Binary("a"u8, fin: false).Continuation("b", fin: false).Continuation("c", fin: false).Continuation("d", fin: true).ToArray();

        AssertFails(bytes, Errors.TooManyFragments, options);
    }

    // A compressed message is bounded by MaxMessageSize plus slack for deflate's expansion. With no practical limit
    // (long.MaxValue) the slack must not overflow into a negative bound that refuses every compressed message.
    [Fact]
    public void CompressedMessage_WithMaxMessageSizeOfLongMaxValue_IsAccepted()
    {
        var options = new FrameReaderOptions { AllowCompressedMessages = true, MaxMessageSize = long.MaxValue, MaxFramePayloadLength = long.MaxValue };
        byte[] deflated = [0xF2, 0x48, 0xCD, 0xC9, 0xC9, 0x07, 0x00];

        var reader = Read(Peer().Frame(WebSocketOpcode.Binary, deflated, rsv1: true).ToArray(), options);

        Assert.Equal([ReaderEvent.Message(WebSocketOpcode.Binary, deflated, compressed: true)], reader.Events);
    }

    // The same slack keeps a compressed message a little over MaxMessageSize readable (the inflater bounds the
    // output), while one far over it still fails with 1009 on the header.
    [Fact]
    public void CompressedMessage_OverMaxMessageSizeBeyondTheSlack_FailsWith1009()
    {
        var options = new FrameReaderOptions { AllowCompressedMessages = true, MaxMessageSize = 100 };
        var slightlyOver = new byte[150];

        var reader = Read(Peer().Frame(WebSocketOpcode.Binary, slightlyOver, rsv1: true).ToArray(), options);

        Assert.Equal([ReaderEvent.Message(WebSocketOpcode.Binary, slightlyOver, compressed: true)], reader.Events);
        AssertFails(Peer().Frame(WebSocketOpcode.Binary, [], rsv1: true, declaredLength: 100_000).ToArray(), Errors.MessageTooBig, options);
    }

    // ---- Sections 5.6 and 8.1: UTF-8 ----

    // R6455-5.6-a with R6455-8.1-a, fail-fast: the read that brings the first impossible byte fails, although the
    // rest of the frame has not arrived; the read just before it does not fail early. Each case gives the bytes and
    // the index of the first byte no valid UTF-8 can continue with.
    [Theory]
    [InlineData("FF", 0)]
    [InlineData("F5 80 80 80", 0)] // lead byte above U+10FFFF's
    [InlineData("C0 AF", 0)] // C0 can only start an overlong form
    [InlineData("E0 80 AF", 1)] // overlong 3-byte form
    [InlineData("ED A0 80", 1)] // surrogate U+D800
    [InlineData("F0 80 80 AF", 1)] // overlong 4-byte form
    [InlineData("F4 90 80 80", 1)] // above U+10FFFF
    [InlineData("E2 82 41", 2)] // missing continuation byte
    [InlineData("80", 0)] // continuation byte without a lead
    public void InvalidUtf8InPartOfAFrame_FailsOnTheReadThatBringsIt(string invalid, int firstBadIndex)
    {
        byte[] text = [.. "valid €, then: "u8, .. FrameBuilder.Hex(invalid), .. "and more text that has not arrived"u8];
        var badAt = "valid €, then: "u8.Length + firstBadIndex;

        foreach (var fragmented in new[] { false, true })
        {
            var peer = Peer();
            if (fragmented)
            {
                peer.Text("earlier fragment ", fin: false);
            }

            var bytes = peer.Frame(fragmented ? WebSocketOpcode.Continuation : WebSocketOpcode.Text, text, fin: !fragmented).ToArray();
            var badInStream = bytes.Length - text.Length + badAt;
            var reader = new ReaderHarness(Role);

            Assert.Equal(FrameReadStatus.NeedMoreData, reader.Feed(bytes.AsSpan(0, badInStream)));
            Assert.Null(reader.Error);

            Assert.Equal(FrameReadStatus.Error, reader.Feed(bytes.AsSpan(badInStream, 1)));
            Assert.Equal(Errors.InvalidUtf8, reader.Error);
            Assert.Equal(WebSocketCloseStatus.InvalidPayloadData, reader.Error!.Value.CloseStatus);
        }
    }

    // R6455-8.1-a: a text message that ends inside a code point fails with 1007 at its end, not before: an open
    // sequence at the end of a non-final frame, with a control frame after it, is fine.
    [Fact]
    public void TextEndingMidSequence_FailsWith1007AtMessageEnd()
    {
        var reader = new ReaderHarness(Role);
        Assert.Equal(FrameReadStatus.NeedMoreData, reader.Feed(Peer(1).Text([.. "ab"u8, 0xE2, 0x82], fin: false).Ping().ToArray()));
        Assert.Null(reader.Error);

        Assert.Equal(FrameReadStatus.Error, reader.Feed(Peer(2).Continuation([], fin: true).ToArray()));
        Assert.Equal(Errors.InvalidUtf8, reader.Error);

        AssertFails(Peer().Text([.. "ab"u8, 0xF0, 0x9F, 0x98]).ToArray(), Errors.InvalidUtf8);
        AssertFails(Peer().Text("a", fin: false).Continuation([0xC3], fin: true).ToArray(), Errors.InvalidUtf8);
    }

    // R6455-5.6-a: a frame may split a code point; the message as a whole is what must be UTF-8.
    [Fact]
    public void CodePointSplitAcrossFragments_IsAccepted()
    {
        var bytes = Peer()
            .Text([0xE2], fin: false).Continuation([0x82], fin: false).Ping().Continuation([0xAC, 0xF0, 0x9F], fin: false)
            .Continuation([0x98, 0x80, 0xEF, 0xBF, 0xBF], fin: true)
            .ToArray();

        var reader = Read(bytes);

        Assert.Equal([ReaderEvent.Control(WebSocketOpcode.Ping), ReaderEvent.Message(WebSocketOpcode.Text, "€😀\uFFFF"u8, frames: 4)], reader.Events);
    }

    // R6455-8.1-a applies to text; binary payload is never checked.
    [Fact]
    public void BinaryWithInvalidUtf8_IsAccepted()
    {
        byte[] payload = [0xFF, 0xED, 0xA0, 0x80, 0xC0];

        Assert.Equal([ReaderEvent.Message(WebSocketOpcode.Binary, payload)], Read(Peer().Binary(payload).ToArray()).Events);
    }

    // ---- Empty frames ----

    // R6455-5.6-a: the empty text is valid UTF-8; a zero-length FIN text frame is one whole, empty message.
    [Fact]
    public void ZeroLengthTextWithFin_IsOneEmptyWholeMessage()
    {
        var reader = Read(Peer().Text("").ToArray());

        var piece = Assert.Single(reader.Pieces);
        Assert.True(piece.IsMessageStart && piece.IsMessageEnd && piece.IsFrameEnd);
        Assert.Empty(piece.Payload);
        Assert.Equal([ReaderEvent.Message(WebSocketOpcode.Text, [])], reader.Events);
    }

    // R6455-5.4-e: empty fragments (first, middle, last) and empty control frames are all legal.
    [Fact]
    public void EmptyFramesEverywhere_AreAccepted()
    {
        var bytes = Peer()
            .Binary([])
            .Text("", fin: false).Continuation("", fin: false).Continuation("", fin: true)
            .Binary([], fin: false).Continuation("x", fin: false).Pong().Continuation("", fin: true)
            .Ping().Frame(WebSocketOpcode.Close, [])
            .ToArray();

        var reader = Read(bytes);

        Assert.Equal(
            [
                ReaderEvent.Message(WebSocketOpcode.Binary, []),
                ReaderEvent.Message(WebSocketOpcode.Text, [], frames: 3),
                ReaderEvent.Control(WebSocketOpcode.Pong),
                ReaderEvent.Message(WebSocketOpcode.Binary, "x"u8, frames: 3),
                ReaderEvent.Control(WebSocketOpcode.Ping),
                ReaderEvent.Control(WebSocketOpcode.Close),
            ],
            reader.Events);
    }

    // ---- Streaming and failure ----

    // Payload is handed out as it arrives (a data header is consumed on its own); a frame already whole in the
    // buffer comes out as one piece.
    [Fact]
    public void DataPayload_IsHandedOutAsItArrives()
    {
        var payload = Enumerable.Range(0, 200).Select(i => (byte)i).ToArray();
        var bytes = Peer().Binary(payload).ToArray();
        var header = bytes.Length - payload.Length;
        var reader = new ReaderHarness(Role);

        Assert.Equal(FrameReadStatus.NeedMoreData, reader.Feed(bytes.AsSpan(0, header)));
        Assert.Equal(0, reader.Buffered);
        Assert.Equal(FrameReadStatus.NeedMoreData, reader.Feed(bytes.AsSpan(header, 50)));
        Assert.Equal(FrameReadStatus.NeedMoreData, reader.Feed(bytes.AsSpan(header + 50)));

        Assert.Equal([payload[..50], payload[50..]], reader.Pieces.Select(p => p.Payload));
        Assert.Equal([true, false], reader.Pieces.Select(p => p.IsMessageStart));
        Assert.Equal([false, true], reader.Pieces.Select(p => p.IsMessageEnd));

        var whole = ReaderHarness.Run(Role, null, bytes);
        Assert.Equal(payload, Assert.Single(whole.Pieces).Payload);
    }

    // R6455-7.1.7-c: after failing, the reader processes no more input: every later call fails and consumes nothing.
    [Fact]
    public void AfterError_ReaderStaysFailedAndConsumesNothing()
    {
        var reader = new WebSocketFrameReader(Role, new FrameReaderOptions());
        var bad = new ReadOnlySequence<byte>(Peer().Frame((WebSocketOpcode)3, []).ToArray());
        Assert.Equal(FrameReadStatus.Error, reader.Read(ref bad, out _, out var first));
        Assert.Equal(Errors.ReservedOpcode, first);

        var good = new ReadOnlySequence<byte>(Peer().Text("valid").Ping().ToArray());
        var length = good.Length;
        Assert.Equal(FrameReadStatus.Error, reader.Read(ref good, out _, out var again));
        Assert.Equal(Errors.ReaderFailed, again);
        Assert.Equal(length, good.Length);
    }

    [Fact]
    public void Constructor_NullOptions_Throws()
    {
        Assert.Throws<ArgumentNullException>(() => new WebSocketFrameReader(Role, null!));
    }

    private protected FrameBuilder Peer(int seed = 6455) => FrameBuilder.For(Role, seed);

    // Reads the stream whole and (unless it is large) one byte at a time; both must agree (R6455-6.2-a).
    private protected ReaderHarness Read(byte[] bytes, FrameReaderOptions? options = null, bool byteAtATime = true)
    {
        var whole = ReaderHarness.Run(Role, options, bytes);
        if (byteAtATime)
        {
            var split = ReaderHarness.Run(Role, options, Feeds.OneByteAtATime(bytes));
            Assert.Equal(whole.Events, split.Events);
        }

        return whole;
    }

    private protected void AssertFails(byte[] bytes, ProtocolError expected, FrameReaderOptions? options = null)
    {
        var reader = Read(bytes, options);

        Assert.Equal(expected, reader.Error);
        Assert.Equal(ReaderEvent.Failure(expected), reader.Events[^1]);
    }
}

/// <summary>The reader as a server: client frames arrive masked.</summary>
public sealed class ServerFrameReaderTests : WebSocketFrameReaderTests
{
    protected override WebSocketRole Role => WebSocketRole.Server;

    // R6455-6.2-e with the RFC 6455 section 5.7 vector: a masked "Hello" from a client.
    [Fact]
    public void Rfc6455Section57_MaskedHello_IsUnmasked()
    {
        var reader = Read(FrameBuilder.Hex("81 85 37 fa 21 3d 7f 9f 4d 51 58"));

        Assert.Equal([ReaderEvent.Message(WebSocketOpcode.Text, "Hello"u8)], reader.Events);
    }

    // Section 5.7: a masked pong with the body "Hello" (a client's reply to the unmasked ping example).
    [Fact]
    public void Rfc6455Section57_MaskedPong_IsUnmasked()
    {
        var reader = Read(FrameBuilder.Hex("8a 85 37 fa 21 3d 7f 9f 4d 51 58"));

        Assert.Equal([ReaderEvent.Control(WebSocketOpcode.Pong, "Hello"u8)], reader.Events);
    }

    // R6455-5.1-b: the unmasked section 5.7 vectors are server frames; a server receiving them fails.
    [Theory]
    [InlineData("81 05 48 65 6c 6c 6f")]
    [InlineData("89 05 48 65 6c 6c 6f")]
    [InlineData("01 03 48 65 6c")]
    public void Rfc6455Section57_UnmaskedVectors_FailWith1002(string hex)
    {
        AssertFails(FrameBuilder.Hex(hex), Errors.UnmaskedClientFrame);
    }

    // The header fields of the masked "Hello" vector, decoded by the static header parser.
    [Fact]
    public void TryReadHeader_Rfc6455Section57MaskedHello_DecodesEveryField()
    {
        var bytes = FrameBuilder.Hex("81 85 37 fa 21 3d 7f 9f 4d 51 58");

        var status = WebSocketFrameReader.TryReadHeader(new ReadOnlySequence<byte>(bytes), Role, new FrameReaderOptions(), out var header, out _);

        Assert.Equal(OperationStatus.Done, status);
        Assert.Equal(new FrameHeader(true, false, false, false, WebSocketOpcode.Text, true, BitConverter.ToUInt32(bytes, 2), 5, 6), header);
        Assert.Equal(OperationStatus.NeedMoreData, WebSocketFrameReader.TryReadHeader(new ReadOnlySequence<byte>(bytes, 0, 5), Role, new FrameReaderOptions(), out _, out _));
    }
}

/// <summary>The reader as a client: server frames arrive unmasked.</summary>
public sealed class ClientFrameReaderTests : WebSocketFrameReaderTests
{
    protected override WebSocketRole Role => WebSocketRole.Client;

    // Section 5.7: a single-frame unmasked text message.
    [Fact]
    public void Rfc6455Section57_UnmaskedHello_IsRead()
    {
        Assert.Equal([ReaderEvent.Message(WebSocketOpcode.Text, "Hello"u8)], Read(FrameBuilder.Hex("81 05 48 65 6c 6c 6f")).Events);
    }

    // Section 5.7 (R6455-5.4-e): a fragmented unmasked text message, "Hel" then "lo".
    [Fact]
    public void Rfc6455Section57_FragmentedHello_IsReassembled()
    {
        var reader = Read(FrameBuilder.Hex("01 03 48 65 6c 80 02 6c 6f"));

        Assert.Equal([ReaderEvent.Message(WebSocketOpcode.Text, "Hello"u8, frames: 2)], reader.Events);
    }

    // Section 5.7: an unmasked ping whose body is "Hello".
    [Fact]
    public void Rfc6455Section57_UnmaskedPing_IsRead()
    {
        Assert.Equal([ReaderEvent.Control(WebSocketOpcode.Ping, "Hello"u8)], Read(FrameBuilder.Hex("89 05 48 65 6c 6c 6f")).Events);
    }

    // Section 5.7: 256 bytes of binary in one unmasked frame, header 82 7E 0100 (16-bit length).
    [Fact]
    public void Rfc6455Section57_256ByteBinary_IsRead()
    {
        var payload = RandomPayloads.RandomBytes(new Random(256), 256);

        var reader = Read([.. FrameBuilder.Hex("82 7E 01 00"), .. payload]);

        Assert.Equal([ReaderEvent.Message(WebSocketOpcode.Binary, payload)], reader.Events);
    }

    // Section 5.7: 64 KiB of binary in one unmasked frame, header 82 7F 0000000000010000 (64-bit length).
    [Fact]
    public void Rfc6455Section57_64KiBBinary_IsRead()
    {
        var payload = RandomPayloads.RandomBytes(new Random(65536), 65536);

        var reader = Read([.. FrameBuilder.Hex("82 7F 00 00 00 00 00 01 00 00"), .. payload]);

        Assert.Equal([ReaderEvent.Message(WebSocketOpcode.Binary, payload)], reader.Events);
    }

    // R6455-5.1-d: the masked section 5.7 vectors are client frames; a client receiving them fails.
    [Theory]
    [InlineData("81 85 37 fa 21 3d 7f 9f 4d 51 58")]
    [InlineData("8a 85 37 fa 21 3d 7f 9f 4d 51 58")]
    public void Rfc6455Section57_MaskedVectors_FailWith1002(string hex)
    {
        AssertFails(FrameBuilder.Hex(hex), Errors.MaskedServerFrame);
    }
}
