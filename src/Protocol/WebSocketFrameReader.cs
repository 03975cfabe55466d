using System.Buffers;
using System.Buffers.Binary;
using System.Runtime.InteropServices;

namespace Shockwave.Protocol;

/// <summary>What one call to <see cref="WebSocketFrameReader.Read"/> produced.</summary>
public enum FrameReadStatus
{
    /// <summary>The buffer holds no complete unit; read more bytes and call again with everything not yet consumed.</summary>
    NeedMoreData,

    /// <summary>A piece of a data message's payload (possibly empty, possibly the whole message).</summary>
    MessagePayload,

    /// <summary>A complete control frame (close, ping or pong) whose payload has been validated.</summary>
    ControlFrame,

    /// <summary>The peer broke the protocol; the connection must be failed with the error's close code.</summary>
    Error,
}

/// <summary>
/// One unit the reader hands out: a validated control frame, or a piece of a data message whose payload is
/// unmasked in place and, for uncompressed text, already proven to be valid UTF-8 so far.
/// </summary>
public readonly struct FrameSegment
{
    internal FrameSegment(WebSocketOpcode opcode, ReadOnlySequence<byte> payload, SegmentFlags flags)
    {
        Opcode = opcode;
        Payload = payload;
        _flags = flags;
    }

    private readonly SegmentFlags _flags;

    /// <summary>For control frames, the frame's opcode; for data, the message's opcode (text or binary).</summary>
    public WebSocketOpcode Opcode { get; }

    /// <summary>The unmasked payload bytes. They point into the caller's buffer and are valid as long as it is.</summary>
    public ReadOnlySequence<byte> Payload { get; }

    /// <summary>This is the first piece of its message.</summary>
    public bool IsMessageStart => (_flags & SegmentFlags.MessageStart) != 0;

    /// <summary>This is the last piece of its message.</summary>
    public bool IsMessageEnd => (_flags & SegmentFlags.MessageEnd) != 0;

    /// <summary>This piece ends a frame (the next piece, if any, starts a new frame).</summary>
    public bool IsFrameEnd => (_flags & SegmentFlags.FrameEnd) != 0;

    /// <summary>The message had RSV1 set on its first frame: its payload is permessage-deflate data (RFC 7692 section 6).</summary>
    public bool IsCompressed => (_flags & SegmentFlags.Compressed) != 0;

    /// <summary>True when this piece is a whole message: it started and ended it.</summary>
    public bool IsWholeMessage => (_flags & (SegmentFlags.MessageStart | SegmentFlags.MessageEnd)) == (SegmentFlags.MessageStart | SegmentFlags.MessageEnd);

    [Flags]
    internal enum SegmentFlags : byte
    {
        None = 0,
        MessageStart = 1,
        MessageEnd = 2,
        FrameEnd = 4,
        Compressed = 8,
    }
}

/// <summary>
/// The sans-I/O receive half of RFC 6455: feed it bytes split anywhere, it returns control frames, pieces of data
/// messages, or the protocol error that fails the connection. It never writes: the pong or close it owes is the
/// caller's to send. It never copies payload: it unmasks in place and slices the caller's buffer.
/// </summary>
/// <remarks>
/// Payload is handed out as soon as it arrives, not when its frame is complete, so invalid UTF-8 fails the
/// connection at the first impossible byte (RFC 6455 section 8.1) and a large frame is consumed as it streams in
/// (an examined-but-unconsumed pipe buffer is not back-pressured). A frame or message already whole in the buffer
/// comes out as one piece, which lets the caller hand it out without copying.
/// Unmasking writes to the buffer's memory: the bytes behind a <see cref="ReadOnlySequence{T}"/> passed here must be
/// writable (pipe and array memory is), and each byte is unmasked exactly once because it is consumed right after.
/// </remarks>
public sealed class WebSocketFrameReader
{
    // RFC 6455 section 5.5: control frame payloads are at most 125 bytes. 2 header bytes + 4 mask bytes.
    private const int MaxControlPayload = 125;

    private readonly WebSocketRole _role;
    private readonly FrameReaderOptions _options;
    private readonly long _maxCompressedMessageSize;

    // State of the frame whose payload is being read.
    private bool _inFramePayload;
    private long _frameRemaining;
    private uint _frameMask;
    private int _maskOffset;
    private bool _frameFin;

    // State of the data message being assembled across frames.
    private bool _inMessage;
    private WebSocketOpcode _messageOpcode;
    private bool _messageCompressed;
    private bool _messageStartPending;
    private long _messageLength;
    private int _messageFragments;
    private Utf8Validator _utf8;

    private bool _failed;

    /// <summary>Creates a reader for one connection.</summary>
    /// <param name="role">This endpoint's role: a server requires masked frames, a client requires unmasked ones (RFC 6455 section 5.1).</param>
    /// <param name="options">Limits and negotiated extensions.</param>
    public WebSocketFrameReader(WebSocketRole role, FrameReaderOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        _role = role;
        _options = options;

        // Deflate can expand incompressible data by 5 bytes per 16 KiB stored block; allow that much over the limit
        // so a message whose inflated size is at the limit is never refused for its compressed size. Saturate: a
        // limit near long.MaxValue would otherwise overflow to a negative bound that refuses every compressed message.
        long slack = (options.MaxMessageSize >> 10) + 1024;
        _maxCompressedMessageSize = options.MaxMessageSize > long.MaxValue - slack ? long.MaxValue : options.MaxMessageSize + slack;
    }

    /// <summary>True while a data message has started and not yet ended (control frames may still arrive).</summary>
    public bool IsInMessage => _inMessage;

    /// <summary>The options this reader enforces.</summary>
    public FrameReaderOptions Options => _options;

    /// <summary>
    /// Reads the next unit from <paramref name="buffer"/> and slices off what it consumed. On
    /// <see cref="FrameReadStatus.NeedMoreData"/> some bytes (a frame header) may have been consumed; keep the rest.
    /// After <see cref="FrameReadStatus.Error"/> the reader stays failed.
    /// </summary>
    public FrameReadStatus Read(ref ReadOnlySequence<byte> buffer, out FrameSegment segment, out ProtocolError error)
    {
        error = default;
        segment = default;
        if (_failed)
        {
            error = Errors.ReaderFailed;
            return FrameReadStatus.Error;
        }

        if (!_inFramePayload)
        {
            var status = ReadHeader(ref buffer, out segment, out error);
            if (status != FrameReadStatus.MessagePayload || !_inFramePayload)
            {
                return status;
            }
        }

        return ReadPayload(ref buffer, out segment, out error);
    }

    /// <summary>
    /// Parses a frame header from the start of <paramref name="buffer"/> and checks the rules that need no
    /// connection state. Exposed for tests and benchmarks; <see cref="Read"/> is the API for connections.
    /// </summary>
    public static OperationStatus TryReadHeader(ReadOnlySequence<byte> buffer, WebSocketRole role, FrameReaderOptions options, out FrameHeader header, out ProtocolError error)
    {
        ArgumentNullException.ThrowIfNull(options);
        ReadOnlySpan<byte> first = buffer.FirstSpan;
        if (first.Length < WebSocketFrameWriter.MaxHeaderLength && !buffer.IsSingleSegment)
        {
            return TryReadSplitHeader(buffer, role, options, out header, out error);
        }

        return DecodeAndValidate(first, role, options, out header, out error);
    }

    // A header split across segments is gathered into a small stack buffer first; the hot path never pays for it.
    private static OperationStatus TryReadSplitHeader(in ReadOnlySequence<byte> buffer, WebSocketRole role, FrameReaderOptions options, out FrameHeader header, out ProtocolError error)
    {
        Span<byte> scratch = stackalloc byte[WebSocketFrameWriter.MaxHeaderLength];
        return DecodeAndValidate(Gather(buffer, scratch), role, options, out header, out error);
    }

    private static OperationStatus DecodeAndValidate(ReadOnlySpan<byte> bytes, WebSocketRole role, FrameReaderOptions options, out FrameHeader header, out ProtocolError error)
    {
        error = default;
        if (!TryDecodeHeader(bytes, out header))
        {
            return OperationStatus.NeedMoreData;
        }

        return ValidateHeader(header, role, options, out error) ? OperationStatus.Done : OperationStatus.InvalidData;
    }

    private FrameReadStatus ReadHeader(ref ReadOnlySequence<byte> buffer, out FrameSegment segment, out ProtocolError error)
    {
        segment = default;
        var status = TryReadHeader(buffer, _role, _options, out var header, out error);
        if (status == OperationStatus.NeedMoreData)
        {
            return FrameReadStatus.NeedMoreData;
        }

        if (status == OperationStatus.InvalidData)
        {
            return Fail(out error, error);
        }

        if (header.Opcode.IsControl())
        {
            return ReadControlFrame(ref buffer, header, out segment, out error);
        }

        if (!StartDataFrame(header, out error))
        {
            return Fail(out error, error);
        }

        buffer = buffer.Slice(header.HeaderLength);
        return FrameReadStatus.MessagePayload;
    }

    private FrameReadStatus ReadControlFrame(ref ReadOnlySequence<byte> buffer, in FrameHeader header, out FrameSegment segment, out ProtocolError error)
    {
        segment = default;
        error = default;

        // A control frame is small (validated above), so it is only handed out whole.
        long frameLength = header.HeaderLength + header.PayloadLength;
        if (buffer.Length < frameLength)
        {
            return FrameReadStatus.NeedMoreData;
        }

        var payload = buffer.Slice(header.HeaderLength, header.PayloadLength);
        if (header.IsMasked)
        {
            UnmaskInPlace(payload, header.MaskKey, 0);
        }

        if (header.Opcode == WebSocketOpcode.Close && !ClosePayload.Validate(payload, out error))
        {
            return Fail(out error, error);
        }

        buffer = buffer.Slice(frameLength);
        segment = new FrameSegment(header.Opcode, payload, FrameSegment.SegmentFlags.MessageStart | FrameSegment.SegmentFlags.MessageEnd | FrameSegment.SegmentFlags.FrameEnd);
        return FrameReadStatus.ControlFrame;
    }

    // Applies the rules that depend on the message in progress (RFC 6455 section 5.4) and RFC 7692 section 6.1.
    private bool StartDataFrame(in FrameHeader header, out ProtocolError error)
    {
        error = default;
        if (header.Opcode == WebSocketOpcode.Continuation)
        {
            if (!_inMessage)
            {
                error = Errors.ContinuationWithoutStart;
                return false;
            }

            // RFC 7692 section 6.1: RSV1 is set on the first frame of a compressed message only.
            if (header.Rsv1)
            {
                error = Errors.Rsv1OnContinuation;
                return false;
            }

            if (++_messageFragments > _options.MaxFragmentsPerMessage)
            {
                error = Errors.TooManyFragments;
                return false;
            }
        }
        else
        {
            if (_inMessage)
            {
                error = Errors.DataFrameInsideMessage;
                return false;
            }

            _inMessage = true;
            _messageStartPending = true;
            _messageOpcode = header.Opcode;
            _messageCompressed = header.Rsv1;
            _messageLength = 0;
            _messageFragments = 1;
            _utf8.Reset();
        }

        long limit = _messageCompressed ? _maxCompressedMessageSize : _options.MaxMessageSize;
        if (header.PayloadLength > limit - _messageLength)
        {
            error = Errors.MessageTooBig;
            return false;
        }

        _messageLength += header.PayloadLength;
        _inFramePayload = true;
        _frameRemaining = header.PayloadLength;
        _frameMask = header.MaskKey;
        _maskOffset = 0;
        _frameFin = header.Fin;
        return true;
    }

    private FrameReadStatus ReadPayload(ref ReadOnlySequence<byte> buffer, out FrameSegment segment, out ProtocolError error)
    {
        error = default;
        segment = default;
        long available = Math.Min(buffer.Length, _frameRemaining);
        if (available == 0 && _frameRemaining != 0)
        {
            return FrameReadStatus.NeedMoreData;
        }

        var payload = buffer.Slice(0, available);
        if (_role == WebSocketRole.Server)
        {
            _maskOffset = UnmaskInPlace(payload, _frameMask, _maskOffset);
        }

        _frameRemaining -= available;
        bool frameEnd = _frameRemaining == 0;
        bool messageEnd = frameEnd && _frameFin;

        // RFC 6455 section 8.1: text must be UTF-8. Compressed text is validated after inflation by the caller.
        if (_messageOpcode == WebSocketOpcode.Text && !_messageCompressed)
        {
            if (!ValidateUtf8(payload) || (messageEnd && !_utf8.Complete()))
            {
                return Fail(out error, Errors.InvalidUtf8);
            }
        }

        var flags = FrameSegment.SegmentFlags.None;
        if (_messageStartPending)
        {
            flags |= FrameSegment.SegmentFlags.MessageStart;
            _messageStartPending = false;
        }

        if (frameEnd)
        {
            flags |= FrameSegment.SegmentFlags.FrameEnd;
            _inFramePayload = false;
        }

        if (messageEnd)
        {
            flags |= FrameSegment.SegmentFlags.MessageEnd;
            _inMessage = false;
        }

        if (_messageCompressed)
        {
            flags |= FrameSegment.SegmentFlags.Compressed;
        }

        buffer = buffer.Slice(available);
        segment = new FrameSegment(_messageOpcode, payload, flags);
        return FrameReadStatus.MessagePayload;
    }

    private bool ValidateUtf8(in ReadOnlySequence<byte> payload)
    {
        if (payload.IsSingleSegment)
        {
            return _utf8.Append(payload.FirstSpan);
        }

        foreach (var memory in payload)
        {
            if (!_utf8.Append(memory.Span))
            {
                return false;
            }
        }

        return true;
    }

    private FrameReadStatus Fail(out ProtocolError error, in ProtocolError cause)
    {
        _failed = true;
        error = cause;
        return FrameReadStatus.Error;
    }

    private static int UnmaskInPlace(in ReadOnlySequence<byte> payload, uint maskKey, int maskOffset)
    {
        if (payload.IsSingleSegment)
        {
            return WebSocketMask.Apply(AsWritable(payload.First), maskKey, maskOffset);
        }

        foreach (var memory in payload)
        {
            maskOffset = WebSocketMask.Apply(AsWritable(memory), maskKey, maskOffset);
        }

        return maskOffset;
    }

    // The reader's contract (see the type's remarks) is that the buffer's memory is writable.
    private static Span<byte> AsWritable(ReadOnlyMemory<byte> memory) => MemoryMarshal.AsMemory(memory).Span;

    private static ReadOnlySpan<byte> Gather(in ReadOnlySequence<byte> buffer, Span<byte> scratch)
    {
        int length = (int)Math.Min(buffer.Length, scratch.Length);
        buffer.Slice(0, length).CopyTo(scratch);
        return scratch[..length];
    }

    // RFC 6455 section 5.2 base framing: 2 bytes, then a 16- or 64-bit extended length, then the mask key.
    private static bool TryDecodeHeader(ReadOnlySpan<byte> bytes, out FrameHeader header)
    {
        header = default;
        if (bytes.Length < 2)
        {
            return false;
        }

        byte b0 = bytes[0];
        byte b1 = bytes[1];
        bool masked = (b1 & 0x80) != 0;
        int length7 = b1 & 0x7F;
        int offset = 2;
        long payloadLength;
        if (length7 < 126)
        {
            payloadLength = length7;
        }
        else if (length7 == 126)
        {
            if (bytes.Length < 4)
            {
                return false;
            }

            payloadLength = BinaryPrimitives.ReadUInt16BigEndian(bytes[2..]);
            offset = 4;
        }
        else
        {
            if (bytes.Length < 10)
            {
                return false;
            }

            // The most significant bit MUST be 0 (section 5.2); a negative value here is flagged in validation.
            payloadLength = BinaryPrimitives.ReadInt64BigEndian(bytes[2..]);
            offset = 10;
        }

        uint mask = 0;
        if (masked)
        {
            if (bytes.Length < offset + 4)
            {
                return false;
            }

            mask = MemoryMarshal.Read<uint>(bytes[offset..]);
            offset += 4;
        }

        header = new FrameHeader(
            Fin: (b0 & 0x80) != 0,
            Rsv1: (b0 & 0x40) != 0,
            Rsv2: (b0 & 0x20) != 0,
            Rsv3: (b0 & 0x10) != 0,
            Opcode: (WebSocketOpcode)(b0 & 0x0F),
            IsMasked: masked,
            MaskKey: mask,
            PayloadLength: payloadLength,
            HeaderLength: offset);
        return true;
    }

    private static bool ValidateHeader(in FrameHeader header, WebSocketRole role, FrameReaderOptions options, out ProtocolError error)
    {
        error = default;

        // Section 5.2: a nonzero reserved bit that no negotiated extension defines MUST fail the connection.
        if (header.Rsv2 || header.Rsv3)
        {
            error = Errors.ReservedBits;
            return false;
        }

        if (header.Rsv1 && !options.AllowCompressedMessages)
        {
            error = Errors.ReservedBits;
            return false;
        }

        if (!header.Opcode.IsDefined())
        {
            error = Errors.ReservedOpcode;
            return false;
        }

        // Section 5.1: a server MUST close on an unmasked frame; a client MUST close on a masked frame.
        if (header.IsMasked != (role == WebSocketRole.Server))
        {
            error = role == WebSocketRole.Server ? Errors.UnmaskedClientFrame : Errors.MaskedServerFrame;
            return false;
        }

        if (header.PayloadLength < 0)
        {
            error = Errors.LengthMostSignificantBit;
            return false;
        }

        if (header.Opcode.IsControl())
        {
            // Section 5.5: control frames MUST have a payload of 125 bytes or less and MUST NOT be fragmented.
            if (header.PayloadLength > MaxControlPayload)
            {
                error = Errors.ControlFrameTooLong;
                return false;
            }

            if (!header.Fin)
            {
                error = Errors.FragmentedControlFrame;
                return false;
            }

            // RFC 7692 section 6.1: permessage-deflate gives RSV1 a meaning on data frames only.
            if (header.Rsv1)
            {
                error = Errors.ReservedBits;
                return false;
            }

            // Section 5.5.1: a close payload of exactly 1 byte cannot hold a status code.
            if (header.Opcode == WebSocketOpcode.Close && header.PayloadLength == 1)
            {
                error = Errors.CloseFrameLengthOne;
                return false;
            }
        }
        else if (header.PayloadLength > options.MaxFramePayloadLength)
        {
            error = Errors.FrameTooBig;
            return false;
        }

        return true;
    }
}
