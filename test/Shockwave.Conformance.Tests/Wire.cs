using System.Buffers.Binary;
using System.Security.Cryptography;
using Shockwave.Protocol;

namespace Shockwave.Conformance.Tests;

/// <summary>RFC 6455 opcodes as plain numbers: cases also send the reserved ones.</summary>
internal static class Op
{
    public const int Continuation = 0x0;
    public const int Text = 0x1;
    public const int Binary = 0x2;
    public const int Close = 0x8;
    public const int Ping = 0x9;
    public const int Pong = 0xA;
}

/// <summary>
/// Builds client frames byte by byte, valid or not (any opcode, any RSV bits, unmasked, non-minimal lengths), so that cases
/// control every bit on the wire. Masking uses the library's <see cref="WebSocketMask"/> with a fresh random key per frame
/// (R6455-5.3: the key must be unpredictable).
/// </summary>
internal static class Frame
{
    public static byte[] Build(int opcode, ReadOnlySpan<byte> payload, bool fin = true, int rsv = 0, bool mask = true)
    {
        int lengthBytes = payload.Length < 126 ? 0 : payload.Length <= ushort.MaxValue ? 2 : 8;
        var frame = new byte[2 + lengthBytes + (mask ? 4 : 0) + payload.Length];
        frame[0] = (byte)((fin ? 0x80 : 0) | ((rsv & 7) << 4) | (opcode & 0xF));
        frame[1] = (byte)((mask ? 0x80 : 0) | (lengthBytes == 0 ? payload.Length : lengthBytes == 2 ? 126 : 127));
        int offset = 2;
        if (lengthBytes == 2)
        {
            BinaryPrimitives.WriteUInt16BigEndian(frame.AsSpan(2), (ushort)payload.Length);
        }
        else if (lengthBytes == 8)
        {
            BinaryPrimitives.WriteUInt64BigEndian(frame.AsSpan(2), (ulong)payload.Length);
        }

        offset += lengthBytes;
        if (mask)
        {
            RandomNumberGenerator.Fill(frame.AsSpan(offset, 4));
            uint key = BitConverter.ToUInt32(frame, offset);
            offset += 4;
            WebSocketMask.Apply(payload, frame.AsSpan(offset), key, 0);
        }
        else
        {
            payload.CopyTo(frame.AsSpan(offset));
        }

        return frame;
    }

    /// <summary>A close frame: code (if any) then the reason bytes as given, valid or not.</summary>
    public static byte[] Close(ushort? code, ReadOnlySpan<byte> reason = default) => Build(Op.Close, ClosePayload(code, reason));

    public static byte[] ClosePayload(ushort? code, ReadOnlySpan<byte> reason = default)
    {
        if (code is null)
        {
            return [];
        }

        var payload = new byte[2 + reason.Length];
        BinaryPrimitives.WriteUInt16BigEndian(payload, code.Value);
        reason.CopyTo(payload.AsSpan(2));
        return payload;
    }

    public static byte[] Concat(params byte[][] parts)
    {
        var all = new byte[parts.Sum(p => p.Length)];
        int offset = 0;
        foreach (var part in parts)
        {
            part.CopyTo(all, offset);
            offset += part.Length;
        }

        return all;
    }
}
