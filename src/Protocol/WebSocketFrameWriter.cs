using System.Buffers;
using System.Buffers.Binary;
using System.Runtime.InteropServices;
using System.Security.Cryptography;

namespace Shockwave.Protocol;

/// <summary>
/// The sans-I/O send half of RFC 6455 section 5.2: frame headers and whole frames written straight into the
/// caller's <see cref="IBufferWriter{T}"/> (a <c>PipeWriter</c> in production), masked when the role is client.
/// </summary>
public static class WebSocketFrameWriter
{
    /// <summary>The largest header: 2 bytes, an 8-byte extended length and a 4-byte mask key.</summary>
    public const int MaxHeaderLength = 14;

    /// <summary>The header length for a payload of <paramref name="payloadLength"/> bytes.</summary>
    public static int GetHeaderLength(long payloadLength, bool masked) =>
        (payloadLength < 126 ? 2 : payloadLength <= ushort.MaxValue ? 4 : 10) + (masked ? 4 : 0);

    /// <summary>
    /// Writes a frame header using the shortest length encoding, which section 5.2 requires ("the minimal number of
    /// bytes MUST be used"). Returns the number of bytes written.
    /// </summary>
    /// <param name="destination">At least <see cref="GetHeaderLength"/> bytes.</param>
    /// <param name="opcode">The frame's opcode.</param>
    /// <param name="fin">Whether the frame ends its message.</param>
    /// <param name="rsv1">RSV1: set on the first frame of a compressed message only (RFC 7692 section 6).</param>
    /// <param name="payloadLength">The payload length.</param>
    /// <param name="maskKey">The mask key in wire order (see <see cref="WebSocketMask"/>), or null for an unmasked frame.</param>
    public static int WriteHeader(Span<byte> destination, WebSocketOpcode opcode, bool fin, bool rsv1, long payloadLength, uint? maskKey)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(payloadLength);
        destination[0] = (byte)((fin ? 0x80 : 0) | (rsv1 ? 0x40 : 0) | (byte)opcode);
        byte maskBit = maskKey.HasValue ? (byte)0x80 : (byte)0;
        int offset;
        if (payloadLength < 126)
        {
            destination[1] = (byte)(maskBit | payloadLength);
            offset = 2;
        }
        else if (payloadLength <= ushort.MaxValue)
        {
            destination[1] = (byte)(maskBit | 126);
            BinaryPrimitives.WriteUInt16BigEndian(destination[2..], (ushort)payloadLength);
            offset = 4;
        }
        else
        {
            destination[1] = (byte)(maskBit | 127);
            BinaryPrimitives.WriteUInt64BigEndian(destination[2..], (ulong)payloadLength);
            offset = 10;
        }

        if (maskKey.HasValue)
        {
            MemoryMarshal.Write(destination[offset..], maskKey.Value);
            offset += 4;
        }

        return offset;
    }

    /// <summary>
    /// Writes a whole frame (header and payload) into <paramref name="output"/> with one <c>GetSpan</c>/<c>Advance</c>
    /// where the writer can give that much contiguous memory. A client frame is masked with a fresh random key
    /// (section 5.3: the key MUST be unpredictable); the caller's payload is never modified.
    /// </summary>
    public static void WriteFrame(IBufferWriter<byte> output, WebSocketRole role, WebSocketOpcode opcode, bool fin, bool rsv1, ReadOnlySpan<byte> payload)
    {
        ArgumentNullException.ThrowIfNull(output);
        uint? mask = role == WebSocketRole.Client ? NewMaskKey() : null;
        WriteFrame(output, opcode, fin, rsv1, payload, mask);
    }

    /// <summary>Writes a whole frame with an explicit mask key (null: unmasked). Tests use this for known vectors.</summary>
    public static void WriteFrame(IBufferWriter<byte> output, WebSocketOpcode opcode, bool fin, bool rsv1, ReadOnlySpan<byte> payload, uint? maskKey)
    {
        ArgumentNullException.ThrowIfNull(output);
        int headerLength = GetHeaderLength(payload.Length, maskKey.HasValue);
        Span<byte> span = output.GetSpan(headerLength);
        WriteHeader(span, opcode, fin, rsv1, payload.Length, maskKey);

        // Small frames go out with a single Advance; large payloads are copied in as many spans as the writer offers.
        if (span.Length >= headerLength + payload.Length)
        {
            var target = span.Slice(headerLength, payload.Length);
            CopyPayload(payload, target, maskKey, 0);
            output.Advance(headerLength + payload.Length);
            return;
        }

        output.Advance(headerLength);
        WritePayload(output, payload, maskKey, 0);
    }

    /// <summary>Writes a whole frame whose payload is a sequence (for example a received message being echoed).</summary>
    public static void WriteFrame(IBufferWriter<byte> output, WebSocketOpcode opcode, bool fin, bool rsv1, in ReadOnlySequence<byte> payload, uint? maskKey)
    {
        ArgumentNullException.ThrowIfNull(output);
        if (payload.IsSingleSegment)
        {
            WriteFrame(output, opcode, fin, rsv1, payload.FirstSpan, maskKey);
            return;
        }

        int headerLength = GetHeaderLength(payload.Length, maskKey.HasValue);
        WriteHeader(output.GetSpan(headerLength), opcode, fin, rsv1, payload.Length, maskKey);
        output.Advance(headerLength);
        int maskOffset = 0;
        foreach (var memory in payload)
        {
            maskOffset = WritePayload(output, memory.Span, maskKey, maskOffset);
        }
    }

    /// <summary>
    /// Writes a close frame with an optional status and a reason truncated to fit (section 5.5.1). A null status
    /// writes an empty close payload.
    /// </summary>
    public static void WriteClose(IBufferWriter<byte> output, WebSocketRole role, WebSocketCloseStatus? status, ReadOnlySpan<char> reason)
    {
        Span<byte> payload = stackalloc byte[125];
        int length = ClosePayload.Write(payload, status, reason);
        WriteFrame(output, role, WebSocketOpcode.Close, fin: true, rsv1: false, payload[..length]);
    }

    /// <summary>A fresh unpredictable mask key for a client frame (RFC 6455 section 5.3).</summary>
    public static uint NewMaskKey()
    {
        Span<byte> key = stackalloc byte[4];
        RandomNumberGenerator.Fill(key);
        return MemoryMarshal.Read<uint>(key);
    }

    private static int WritePayload(IBufferWriter<byte> output, ReadOnlySpan<byte> payload, uint? maskKey, int maskOffset)
    {
        while (!payload.IsEmpty)
        {
            Span<byte> span = output.GetSpan();
            int chunk = Math.Min(span.Length, payload.Length);
            maskOffset = CopyPayload(payload[..chunk], span[..chunk], maskKey, maskOffset);
            output.Advance(chunk);
            payload = payload[chunk..];
        }

        return maskOffset;
    }

    private static int CopyPayload(ReadOnlySpan<byte> source, Span<byte> destination, uint? maskKey, int maskOffset)
    {
        if (maskKey.HasValue)
        {
            return WebSocketMask.Apply(source, destination, maskKey.Value, maskOffset);
        }

        source.CopyTo(destination);
        return maskOffset;
    }
}
