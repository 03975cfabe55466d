namespace Shockwave.Protocol;

/// <summary>
/// Every protocol error the core reports, each with its close code and a stable name used in logs and metrics.
/// Reasons are short ASCII so they always fit a close frame (RFC 6455 section 5.5: 123 bytes of reason).
/// </summary>
public static class Errors
{
    private const WebSocketCloseStatus Protocol = WebSocketCloseStatus.ProtocolError;
    private const WebSocketCloseStatus TooBig = WebSocketCloseStatus.MessageTooBig;
    private const WebSocketCloseStatus BadData = WebSocketCloseStatus.InvalidPayloadData;
    private const WebSocketCloseStatus Policy = WebSocketCloseStatus.PolicyViolation;

    /// <summary>The peer sent faster than the endpoint's inbound rate limit allows (section 7.4.1: 1008, policy violation).</summary>
    public static readonly ProtocolError RateLimitExceeded = new(Policy, nameof(RateLimitExceeded), "inbound rate limit exceeded");

    /// <summary>RSV1, RSV2 or RSV3 set without an extension that defines it (RFC 6455 section 5.2).</summary>
    public static readonly ProtocolError ReservedBits = new(Protocol, nameof(ReservedBits), "reserved bits set without a negotiated extension");

    /// <summary>Opcode 3-7 or 0xB-0xF (RFC 6455 section 5.2).</summary>
    public static readonly ProtocolError ReservedOpcode = new(Protocol, nameof(ReservedOpcode), "reserved opcode");

    /// <summary>A client sent an unmasked frame (RFC 6455 section 5.1).</summary>
    public static readonly ProtocolError UnmaskedClientFrame = new(Protocol, nameof(UnmaskedClientFrame), "client frames must be masked");

    /// <summary>A server sent a masked frame (RFC 6455 section 5.1).</summary>
    public static readonly ProtocolError MaskedServerFrame = new(Protocol, nameof(MaskedServerFrame), "server frames must not be masked");

    /// <summary>The 64-bit payload length had its most significant bit set (RFC 6455 section 5.2).</summary>
    public static readonly ProtocolError LengthMostSignificantBit = new(Protocol, nameof(LengthMostSignificantBit), "64-bit payload length with the most significant bit set");

    /// <summary>A control frame's payload exceeded 125 bytes (RFC 6455 section 5.5).</summary>
    public static readonly ProtocolError ControlFrameTooLong = new(Protocol, nameof(ControlFrameTooLong), "control frame payload over 125 bytes");

    /// <summary>A control frame without FIN (RFC 6455 section 5.5).</summary>
    public static readonly ProtocolError FragmentedControlFrame = new(Protocol, nameof(FragmentedControlFrame), "fragmented control frame");

    /// <summary>A close frame whose payload is one byte (RFC 6455 section 5.5.1).</summary>
    public static readonly ProtocolError CloseFrameLengthOne = new(Protocol, nameof(CloseFrameLengthOne), "close frame payload of one byte");

    /// <summary>A close frame with a code that must not appear on the wire (RFC 6455 section 7.4).</summary>
    public static readonly ProtocolError InvalidCloseCode = new(Protocol, nameof(InvalidCloseCode), "invalid close code");

    /// <summary>A close frame whose reason is not UTF-8 (RFC 6455 section 5.5.1).</summary>
    public static readonly ProtocolError InvalidCloseReason = new(BadData, nameof(InvalidCloseReason), "close reason is not valid UTF-8");

    /// <summary>A continuation frame with no message in progress (RFC 6455 section 5.4).</summary>
    public static readonly ProtocolError ContinuationWithoutStart = new(Protocol, nameof(ContinuationWithoutStart), "continuation frame without a message in progress");

    /// <summary>A new text or binary frame while a fragmented message is in progress (RFC 6455 section 5.4).</summary>
    public static readonly ProtocolError DataFrameInsideMessage = new(Protocol, nameof(DataFrameInsideMessage), "new data frame inside a fragmented message");

    /// <summary>RSV1 on a continuation frame (RFC 7692 section 6.1).</summary>
    public static readonly ProtocolError Rsv1OnContinuation = new(Protocol, nameof(Rsv1OnContinuation), "RSV1 set on a continuation frame");

    /// <summary>A frame's payload exceeded the configured maximum.</summary>
    public static readonly ProtocolError FrameTooBig = new(TooBig, nameof(FrameTooBig), "frame payload exceeds the limit");

    /// <summary>A message exceeded the configured maximum size.</summary>
    public static readonly ProtocolError MessageTooBig = new(TooBig, nameof(MessageTooBig), "message exceeds the size limit");

    /// <summary>A message spanned more frames than the configured maximum.</summary>
    public static readonly ProtocolError TooManyFragments = new(TooBig, nameof(TooManyFragments), "message has too many fragments");

    /// <summary>A text message that is not valid UTF-8 (RFC 6455 section 8.1).</summary>
    public static readonly ProtocolError InvalidUtf8 = new(BadData, nameof(InvalidUtf8), "text message is not valid UTF-8");

    /// <summary>A compressed message that could not be inflated (RFC 7692 section 6.2).</summary>
    public static readonly ProtocolError InvalidCompressedData = new(BadData, nameof(InvalidCompressedData), "invalid permessage-deflate data");

    /// <summary>Read was called again after the reader reported an error.</summary>
    public static readonly ProtocolError ReaderFailed = new(Protocol, nameof(ReaderFailed), "the connection already failed");
}
