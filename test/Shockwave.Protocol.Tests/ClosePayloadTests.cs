using System.Buffers;
using Shockwave.Protocol.Tests.Support;

namespace Shockwave.Protocol.Tests;

/// <summary>The close body rules of RFC 6455 sections 5.5.1, 7.1.5, 7.1.6 and 7.4, on their own.</summary>
public class ClosePayloadTests
{
    // R6455-5.5.1-a: the body is optional.
    [Fact]
    public void Validate_Empty_IsValid()
    {
        Assert.True(ClosePayload.Validate(ReadOnlySpan<byte>.Empty, out var error));
        Assert.Equal(default, error);
        Assert.True(ClosePayload.Validate(ReadOnlySequence<byte>.Empty, out _));
    }

    // R6455-5.5.1-a: a body, if present, starts with a 2-byte code; one byte cannot.
    [Fact]
    public void Validate_OneByte_IsCloseFrameLengthOne()
    {
        Assert.False(ClosePayload.Validate([0x03], out var error));
        Assert.Equal(Errors.CloseFrameLengthOne, error);
        Assert.Equal(WebSocketCloseStatus.ProtocolError, error.CloseStatus);
    }

    // R6455-7.4.1-a/-b/-c and the section 7.4.2 ranges: codes that may not be on the wire fail with 1002.
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
    public void Validate_CodeInvalidOnTheWire_IsInvalidCloseCode(int code)
    {
        Assert.False(ClosePayload.Validate(FrameBuilder.ClosePayloadBytes((ushort)code, []), out var error));
        Assert.Equal(Errors.InvalidCloseCode, error);
        Assert.Equal(WebSocketCloseStatus.ProtocolError, error.CloseStatus);
    }

    // R6455-7.4.1: the defined codes, the IANA-registered 1012-1014, and the 3000-4999 application ranges.
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
    public void Validate_CodeValidOnTheWire_IsValid(int code)
    {
        Assert.True(ClosePayload.Validate(FrameBuilder.ClosePayloadBytes((ushort)code, "reason"u8), out _));
    }

    // R6455-5.5.1-a with R6455-8.1-a: the reason must be UTF-8, or the connection fails with 1007. The sequence
    // overload agrees with the span one however the body is segmented.
    [Theory]
    [InlineData("FF")]
    [InlineData("C0 80")] // overlong NUL
    [InlineData("E0 9F BF")] // overlong 3-byte form
    [InlineData("ED A0 80")] // surrogate
    [InlineData("ED BF BF")] // surrogate
    [InlineData("F4 90 80 80")] // above U+10FFFF
    [InlineData("F8 88 80 80 80")] // 5-byte form
    [InlineData("E2 82")] // truncated at the end of the body
    [InlineData("80 41")] // continuation byte without a lead
    public void Validate_ReasonNotUtf8_IsInvalidCloseReason(string invalid)
    {
        var payload = FrameBuilder.ClosePayloadBytes(1000, [.. "why: "u8, .. FrameBuilder.Hex(invalid)]);

        Assert.False(ClosePayload.Validate(payload, out var error));
        Assert.Equal(Errors.InvalidCloseReason, error);
        Assert.Equal(WebSocketCloseStatus.InvalidPayloadData, error.CloseStatus);
        for (var cut = 0; cut <= payload.Length; cut++)
        {
            Assert.False(ClosePayload.Validate(Split(payload, cut), out var sequenceError));
            Assert.Equal(Errors.InvalidCloseReason, sequenceError);
        }
    }

    // Section 5.5.1: any UTF-8, noncharacters included, up to the 123 bytes a control frame leaves.
    [Fact]
    public void Validate_MultiByteReasonOf123Bytes_IsValid()
    {
        byte[] reason = [.. "ü€😀\uFFFF"u8, .. new byte[123 - 12]];
        var payload = FrameBuilder.ClosePayloadBytes(1000, reason);

        Assert.Equal(125, payload.Length);
        Assert.True(ClosePayload.Validate(payload, out _));
        for (var cut = 0; cut <= payload.Length; cut++)
        {
            Assert.True(ClosePayload.Validate(Split(payload, cut), out _));
        }
    }

    // R6455-5.5-a: a close body is a control payload, at most 125 bytes. Both overloads refuse a longer one; the
    // sequence overload must not judge only its first 125 bytes (here that cut would split the euro sign).
    [Theory]
    [InlineData(126)]
    [InlineData(300)]
    public void Validate_PayloadOver125Bytes_IsControlFrameTooLong(int length)
    {
        var reason = Enumerable.Repeat((byte)'a', 121).Concat("€"u8.ToArray()).Concat(Enumerable.Repeat((byte)'b', length - 126)).ToArray();
        var payload = FrameBuilder.ClosePayloadBytes(1000, reason);
        Assert.Equal(length, payload.Length);

        Assert.False(ClosePayload.Validate(payload, out var error));
        Assert.Equal(Errors.ControlFrameTooLong, error);
        Assert.False(ClosePayload.Validate(Split(payload, 60), out var sequenceError));
        Assert.Equal(Errors.ControlFrameTooLong, sequenceError);
    }

    // R6455-5.5.1-a: the code is big-endian; sections 7.1.5/7.1.6: the reason is the UTF-8 text after it, "" if none,
    // and a body without a code reports 1005.
    [Fact]
    public void Parse_ReadsCodeInNetworkOrderAndReason()
    {
        Assert.Equal(((WebSocketCloseStatus)0x0FA1, "¿sí?"), ClosePayload.Parse(Split([0x0F, 0xA1, .. "¿sí?"u8], 3)));
        Assert.Equal((WebSocketCloseStatus.NormalClosure, string.Empty), ClosePayload.Parse(new ReadOnlySequence<byte>([0x03, 0xE8])));
        Assert.Equal((WebSocketCloseStatus.NoStatusReceived, string.Empty), ClosePayload.Parse(ReadOnlySequence<byte>.Empty));
    }

    // R6455-7.1.2-a, R6455-5.5.1-a: the code in network order, then the reason.
    [Fact]
    public void Write_CodeAndReason_InNetworkOrder()
    {
        var destination = new byte[125];

        var written = ClosePayload.Write(destination, WebSocketCloseStatus.MessageTooBig, "too big");

        Assert.Equal([0x03, 0xF1, .. "too big"u8], destination[..written]);
    }

    [Fact]
    public void Write_NullStatus_WritesNothing()
    {
        var destination = new byte[125];

        Assert.Equal(0, ClosePayload.Write(destination, null, "ignored"));
        Assert.All(destination, b => Assert.Equal(0, b));
    }

    // R6455-5.5-a: a long reason is cut to 123 bytes at a character boundary (here a 4-byte character straddles it).
    [Fact]
    public void Write_LongReason_TruncatedTo123BytesAtACharacterBoundary()
    {
        var destination = new byte[125];
        var reason = new string('a', 120) + "😀" + "tail";

        var written = ClosePayload.Write(destination, WebSocketCloseStatus.NormalClosure, reason);

        Assert.Equal(122, written);
        Assert.Equal((WebSocketCloseStatus.NormalClosure, new string('a', 120)), ClosePayload.Parse(new ReadOnlySequence<byte>(destination, 0, written)));
    }

    // A reason with a lone surrogate cannot be encoded as is; what is written must still be UTF-8 (R6455-8.1-a).
    [Theory]
    [InlineData(1)]
    [InlineData(200)]
    public void Write_ReasonWithLoneSurrogate_StillWritesValidUtf8(int padding)
    {
        var destination = new byte[125];
        var reason = new string('a', padding) + "\uD800" + "b";

        var written = ClosePayload.Write(destination, WebSocketCloseStatus.NormalClosure, reason);

        Assert.InRange(written, 2, 125);
        Assert.True(ClosePayload.Validate(destination.AsSpan(0, written), out _));
    }

    // R6455-7.4.1-a/-b/-c: the API refuses codes that must never be sent.
    [Theory]
    [InlineData(1005)]
    [InlineData(1006)]
    [InlineData(1015)]
    [InlineData(1004)]
    [InlineData(0)]
    public void Write_CodeInvalidOnTheWire_Throws(int code)
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => ClosePayload.Write(new byte[125], (WebSocketCloseStatus)code, ""));
    }

    private static ReadOnlySequence<byte> Split(byte[] bytes, int cut) =>
        BufferSegment.Sequence([bytes.AsMemory(0, cut), bytes.AsMemory(cut)]);
}
