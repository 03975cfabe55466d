using System.Buffers.Binary;
using System.IO.Compression;
using System.Text;

namespace Shockwave.LoadGen;

/// <summary>Builds client frames once (masked with a fixed key) and the payloads they carry.</summary>
internal static class Frames
{
    private static readonly byte[] MaskKey = [0x37, 0xFA, 0x21, 0x3D];

    public static byte[] Payload(Options o)
    {
        if (o.Json)
        {
            return JsonLike(o.Size);
        }
        var payload = new byte[o.Size];
        var random = new Random(42);
        if (o.Text)
        {
            const string Alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 ,.:;-_";
            for (int i = 0; i < payload.Length; i++)
            {
                payload[i] = (byte)Alphabet[random.Next(Alphabet.Length)];
            }
        }
        else
        {
            random.NextBytes(payload);
        }
        return payload;
    }

    /// <summary>JSON-like text of exactly <paramref name="size"/> bytes: repetitive keys, varying values, as chat or telemetry messages are.</summary>
    private static byte[] JsonLike(int size)
    {
        var random = new Random(7);
        var sb = new StringBuilder("{\"type\":\"order.update\",\"items\":[");
        int i = 0;
        while (sb.Length < size + 200)
        {
            sb.Append(i == 0 ? "" : ",");
            sb.Append("{\"sku\":\"SKU-").Append(random.Next(1000, 9999)).Append("\",\"qty\":").Append(random.Next(1, 20))
              .Append(",\"price\":").Append(random.Next(100, 99999) / 100.0).Append(",\"tags\":[\"")
              .Append(random.Next(2) == 0 ? "fresh" : "sale").Append("\"],\"user\":\"user-").Append(random.Next(1, 500)).Append("\"}");
            i++;
        }
        string s = sb.ToString()[..(size - 2)] + "]}";
        return Encoding.UTF8.GetBytes(s);
    }

    /// <summary>One masked frame (FIN set). <paramref name="rsv1"/> marks a compressed message.</summary>
    public static byte[] Masked(int opcode, ReadOnlySpan<byte> payload, bool rsv1 = false)
    {
        int len = payload.Length;
        int headerLength = len < 126 ? 6 : len <= ushort.MaxValue ? 8 : 14;
        var frame = new byte[headerLength + len];
        frame[0] = (byte)(0x80 | (rsv1 ? 0x40 : 0) | opcode);
        if (len < 126)
        {
            frame[1] = (byte)(0x80 | len);
        }
        else if (len <= ushort.MaxValue)
        {
            frame[1] = 0x80 | 126;
            BinaryPrimitives.WriteUInt16BigEndian(frame.AsSpan(2), (ushort)len);
        }
        else
        {
            frame[1] = 0x80 | 127;
            BinaryPrimitives.WriteUInt64BigEndian(frame.AsSpan(2), (ulong)len);
        }
        MaskKey.CopyTo(frame, headerLength - 4);
        for (int i = 0; i < len; i++)
        {
            frame[headerLength + i] = (byte)(payload[i] ^ MaskKey[i & 3]);
        }
        return frame;
    }

    /// <summary>
    /// Masks <paramref name="source"/> into <paramref name="destination"/>, a part of a frame built by <see cref="Masked"/>
    /// that starts <paramref name="payloadOffset"/> bytes into its payload (the key's phase follows the offset).
    /// </summary>
    public static void Mask(ReadOnlySpan<byte> source, Span<byte> destination, int payloadOffset)
    {
        for (int i = 0; i < source.Length; i++)
        {
            destination[i] = (byte)(source[i] ^ MaskKey[(payloadOffset + i) & 3]);
        }
    }

    /// <summary>A masked close frame with code 1000.</summary>
    public static byte[] Close() => Masked(0x8, [0x03, 0xE8]);

    /// <summary>
    /// permessage-deflate payload of one message compressed on its own (the client offers client_no_context_takeover, so
    /// the same bytes are valid for every message): raw deflate, sync flush, trailing 00 00 FF FF removed (RFC 7692 7.2.1).
    /// </summary>
    public static byte[] Deflate(ReadOnlySpan<byte> message, int level)
    {
        using var output = new MemoryStream();
        using (var deflate = new DeflateStream(output, new ZLibCompressionOptions { CompressionLevel = level }, leaveOpen: true))
        {
            deflate.Write(message);
            deflate.Flush();
            byte[] flushed = output.ToArray();
            if (flushed.Length < 4 || !flushed.AsSpan(flushed.Length - 4).SequenceEqual((ReadOnlySpan<byte>)[0x00, 0x00, 0xFF, 0xFF]))
            {
                throw new InvalidOperationException("sync flush did not end with 00 00 FF FF");
            }
            return flushed[..^4];
        }
    }

    /// <summary>Inflates one permessage-deflate message compressed without context (server_no_context_takeover).</summary>
    public static byte[] Inflate(ReadOnlySpan<byte> compressed)
    {
        var input = new byte[compressed.Length + 4];
        compressed.CopyTo(input);
        input[^3] = 0x00; input[^2] = 0xFF; input[^1] = 0xFF;
        using var source = new MemoryStream(input);
        using var inflate = new DeflateStream(source, CompressionMode.Decompress);
        using var output = new MemoryStream();
        inflate.CopyTo(output);
        return output.ToArray();
    }
}

/// <summary>
/// A server frame's header read a byte at a time, however the reads split it: the load generator's receivers share it.
/// Server frames are never masked (RFC 6455 section 5.1); a masked one fails the run.
/// </summary>
internal sealed class ServerFrameHeader
{
    private readonly byte[] _bytes = new byte[10];
    private int _length;

    public int Opcode => _bytes[0] & 0x0F;

    public bool Fin => (_bytes[0] & 0x80) != 0;

    public bool Rsv1 => (_bytes[0] & 0x40) != 0;

    public long PayloadLength { get; private set; }

    /// <summary>Takes the next byte; true when the header is complete (then the next call starts a new one).</summary>
    public bool Add(byte value)
    {
        _bytes[_length++] = value;
        if (_length < 2)
        {
            return false;
        }

        if ((_bytes[1] & 0x80) != 0)
        {
            throw new InvalidDataException("the server masked a frame");
        }

        int length7 = _bytes[1] & 0x7F;
        int needed = length7 == 126 ? 4 : length7 == 127 ? 10 : 2;
        if (_length < needed)
        {
            return false;
        }

        PayloadLength = length7 switch
        {
            126 => BinaryPrimitives.ReadUInt16BigEndian(_bytes.AsSpan(2)),
            127 => (long)BinaryPrimitives.ReadUInt64BigEndian(_bytes.AsSpan(2)),
            _ => length7,
        };
        _length = 0;
        return true;
    }
}
