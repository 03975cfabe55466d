using System.Buffers;
using System.Buffers.Binary;
using System.Text;
using System.Text.Unicode;

namespace Shockwave.Protocol;

/// <summary>The body of a close frame: an optional status code and a UTF-8 reason (RFC 6455 section 5.5.1).</summary>
public static class ClosePayload
{
    /// <summary>The most reason bytes a close frame can carry: 125 minus the 2-byte code.</summary>
    public const int MaxReasonBytes = 123;

    /// <summary>
    /// Checks a received close payload: empty, or a code valid on the wire (section 7.4) followed by UTF-8, 125 bytes
    /// at most (section 5.5). The reader's header check rejects 1-byte and over-long payloads earlier.
    /// </summary>
    public static bool Validate(in ReadOnlySequence<byte> payload, out ProtocolError error)
    {
        error = default;
        if (payload.Length == 0)
        {
            return true;
        }

        // Section 5.5: judge the whole body, never a 125-byte prefix of a longer one.
        if (payload.Length > MaxReasonBytes + 2)
        {
            error = Errors.ControlFrameTooLong;
            return false;
        }

        Span<byte> bytes = stackalloc byte[125];
        int length = (int)Math.Min(payload.Length, bytes.Length);
        payload.Slice(0, length).CopyTo(bytes);
        return Validate(bytes[..length], out error);
    }

    /// <inheritdoc cref="Validate(in ReadOnlySequence{byte}, out ProtocolError)"/>
    public static bool Validate(ReadOnlySpan<byte> payload, out ProtocolError error)
    {
        error = default;
        if (payload.Length == 0)
        {
            return true;
        }

        if (payload.Length == 1)
        {
            error = Errors.CloseFrameLengthOne;
            return false;
        }

        if (payload.Length > MaxReasonBytes + 2)
        {
            error = Errors.ControlFrameTooLong;
            return false;
        }

        if (!CloseStatusRules.IsValidOnWire(BinaryPrimitives.ReadUInt16BigEndian(payload)))
        {
            error = Errors.InvalidCloseCode;
            return false;
        }

        if (!Utf8Validator.IsValid(payload[2..]))
        {
            error = Errors.InvalidCloseReason;
            return false;
        }

        return true;
    }

    /// <summary>
    /// Reads a validated close payload. An empty payload yields <see cref="WebSocketCloseStatus.NoStatusReceived"/>
    /// (section 7.1.5) and an empty reason.
    /// </summary>
    public static (WebSocketCloseStatus Status, string Reason) Parse(in ReadOnlySequence<byte> payload)
    {
        if (payload.Length < 2)
        {
            return (WebSocketCloseStatus.NoStatusReceived, string.Empty);
        }

        Span<byte> bytes = stackalloc byte[125];
        int length = (int)Math.Min(payload.Length, bytes.Length);
        payload.Slice(0, length).CopyTo(bytes);
        var status = (WebSocketCloseStatus)BinaryPrimitives.ReadUInt16BigEndian(bytes);
        string reason = length > 2 ? Encoding.UTF8.GetString(bytes[2..length]) : string.Empty;
        return (status, reason);
    }

    /// <summary>
    /// Writes a close payload into <paramref name="destination"/> (at least 125 bytes) and returns its length.
    /// The reason is truncated at a character boundary to fit 123 bytes; a null status writes an empty payload.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">The status is not valid on the wire.</exception>
    public static int Write(Span<byte> destination, WebSocketCloseStatus? status, ReadOnlySpan<char> reason)
    {
        if (status is null)
        {
            return 0;
        }

        if (!CloseStatusRules.IsValidOnWire(status.Value))
        {
            throw new ArgumentOutOfRangeException(nameof(status), status, "The close status is not valid on the wire (RFC 6455 section 7.4).");
        }

        BinaryPrimitives.WriteUInt16BigEndian(destination, (ushort)status.Value);
        int written = 2;
        if (!reason.IsEmpty)
        {
            written += EncodeTruncated(reason, destination.Slice(2, Math.Min(MaxReasonBytes, destination.Length - 2)));
        }

        return written;
    }

    // Encodes as many whole characters as fit, so the reason stays valid UTF-8 (section 5.5.1).
    private static int EncodeTruncated(ReadOnlySpan<char> reason, Span<byte> destination)
    {
        var encoder = Encoding.UTF8;
        if (encoder.GetByteCount(reason) <= destination.Length)
        {
            return encoder.GetBytes(reason, destination);
        }

        var status = Utf8.FromUtf16(reason, destination, out _, out int written, replaceInvalidSequences: true, isFinalBlock: true);
        return status is OperationStatus.Done or OperationStatus.DestinationTooSmall ? written : 0;
    }
}
