using System.Buffers.Binary;
using System.Text;

namespace Shockwave.Protocol.Tests.Support;

/// <summary>How <see cref="FrameBuilder"/> encodes the payload length (RFC 6455 section 5.2).</summary>
internal enum LengthForm
{
    /// <summary>The shortest encoding, as a conforming sender writes it.</summary>
    Minimal,

    /// <summary>The 16-bit extended length (length byte 126), even for a short payload.</summary>
    Extended16,

    /// <summary>The 64-bit extended length (length byte 127), even for a short payload.</summary>
    Extended64,
}

/// <summary>
/// Writes frames byte by byte from the RFC 6455 section 5.2 diagram, independently of
/// <see cref="WebSocketFrameWriter"/>, so reader tests do not lean on the code that is also under test. It can
/// also write everything a conforming sender never would: reserved bits and opcodes, the wrong masking, lengths
/// that lie. Frames are masked the way the peer of the reader's role sends them (a client masks, section 5.1),
/// with keys from a seeded generator, so every stream is reproducible.
/// </summary>
internal sealed class FrameBuilder
{
    private readonly List<byte> _bytes = [];
    private readonly List<int> _frameOffsets = [];
    private readonly Random _random;

    public FrameBuilder(bool masked, Random random)
    {
        Masked = masked;
        _random = random;
    }

    /// <summary>Frames as the peer of a reader in <paramref name="readerRole"/> sends them.</summary>
    public static FrameBuilder For(WebSocketRole readerRole, int seed = 6455) =>
        new(readerRole == WebSocketRole.Server, new Random(seed));

    /// <summary>Frames as the peer of a reader in <paramref name="readerRole"/> sends them, keys from <paramref name="random"/>.</summary>
    public static FrameBuilder For(WebSocketRole readerRole, Random random) =>
        new(readerRole == WebSocketRole.Server, random);

    /// <summary>Whether frames are masked unless a call says otherwise.</summary>
    public bool Masked { get; }

    /// <summary>The number of bytes written so far.</summary>
    public int Length => _bytes.Count;

    /// <summary>Where each frame written so far starts.</summary>
    public IReadOnlyList<int> FrameOffsets => _frameOffsets;

    /// <summary>Appends one frame.</summary>
    /// <param name="opcode">Any 4-bit value; reserved ones are written as given.</param>
    /// <param name="payload">The unmasked payload that follows the header.</param>
    /// <param name="fin">The FIN bit.</param>
    /// <param name="rsv1">RSV1.</param>
    /// <param name="rsv2">RSV2.</param>
    /// <param name="rsv3">RSV3.</param>
    /// <param name="masked">Overrides <see cref="Masked"/> for this frame.</param>
    /// <param name="maskKey">The four key bytes in wire order; random when null.</param>
    /// <param name="form">The length encoding.</param>
    /// <param name="declaredLength">
    /// The length written in the header when it is not the payload's: a header announcing bytes that never follow.
    /// </param>
    public FrameBuilder Frame(
        WebSocketOpcode opcode,
        ReadOnlySpan<byte> payload,
        bool fin = true,
        bool rsv1 = false,
        bool rsv2 = false,
        bool rsv3 = false,
        bool? masked = null,
        byte[]? maskKey = null,
        LengthForm form = LengthForm.Minimal,
        ulong? declaredLength = null)
    {
        _frameOffsets.Add(_bytes.Count);
        var isMasked = masked ?? Masked;
        var length = declaredLength ?? (ulong)payload.Length;
        _bytes.Add((byte)((fin ? 0x80 : 0) | (rsv1 ? 0x40 : 0) | (rsv2 ? 0x20 : 0) | (rsv3 ? 0x10 : 0) | ((byte)opcode & 0x0F)));
        var maskBit = isMasked ? 0x80 : 0;
        if (form == LengthForm.Extended64 || (form == LengthForm.Minimal && length > ushort.MaxValue))
        {
            _bytes.Add((byte)(maskBit | 127));
            Span<byte> extended = stackalloc byte[8];
            BinaryPrimitives.WriteUInt64BigEndian(extended, length);
            _bytes.AddRange(extended);
        }
        else if (form == LengthForm.Extended16 || (form == LengthForm.Minimal && length > 125))
        {
            _bytes.Add((byte)(maskBit | 126));
            Span<byte> extended = stackalloc byte[2];
            BinaryPrimitives.WriteUInt16BigEndian(extended, checked((ushort)length));
            _bytes.AddRange(extended);
        }
        else
        {
            _bytes.Add((byte)(maskBit | (int)length));
        }

        if (!isMasked)
        {
            _bytes.AddRange(payload);
            return this;
        }

        var key = maskKey ?? NewKey();
        _bytes.AddRange(key);

        // Section 5.3, written out: transformed-octet-i = original-octet-i XOR masking-key-octet-(i MOD 4).
        for (var i = 0; i < payload.Length; i++)
        {
            _bytes.Add((byte)(payload[i] ^ key[i % 4]));
        }

        return this;
    }

    public FrameBuilder Text(string text, bool fin = true) => Frame(WebSocketOpcode.Text, Encoding.UTF8.GetBytes(text), fin);

    public FrameBuilder Text(ReadOnlySpan<byte> payload, bool fin = true) => Frame(WebSocketOpcode.Text, payload, fin);

    public FrameBuilder Binary(ReadOnlySpan<byte> payload, bool fin = true) => Frame(WebSocketOpcode.Binary, payload, fin);

    public FrameBuilder Continuation(ReadOnlySpan<byte> payload, bool fin) => Frame(WebSocketOpcode.Continuation, payload, fin);

    public FrameBuilder Continuation(string text, bool fin) => Frame(WebSocketOpcode.Continuation, Encoding.UTF8.GetBytes(text), fin);

    public FrameBuilder Ping(ReadOnlySpan<byte> payload = default) => Frame(WebSocketOpcode.Ping, payload);

    public FrameBuilder Pong(ReadOnlySpan<byte> payload = default) => Frame(WebSocketOpcode.Pong, payload);

    /// <summary>A close frame with a status code in network byte order and a UTF-8 reason (section 5.5.1).</summary>
    public FrameBuilder Close(ushort code, string reason = "") => Frame(WebSocketOpcode.Close, ClosePayloadBytes(code, Encoding.UTF8.GetBytes(reason)));

    /// <summary>Appends bytes as they are, outside any frame structure.</summary>
    public FrameBuilder Raw(ReadOnlySpan<byte> bytes)
    {
        _bytes.AddRange(bytes);
        return this;
    }

    public byte[] ToArray() => [.. _bytes];

    /// <summary>The 2-byte big-endian code followed by the reason bytes.</summary>
    public static byte[] ClosePayloadBytes(ushort code, ReadOnlySpan<byte> reason)
    {
        var payload = new byte[2 + reason.Length];
        BinaryPrimitives.WriteUInt16BigEndian(payload, code);
        reason.CopyTo(payload.AsSpan(2));
        return payload;
    }

    public static byte[] Hex(string hex) => Convert.FromHexString(hex.Replace(" ", string.Empty, StringComparison.Ordinal));

    private byte[] NewKey()
    {
        var key = new byte[4];
        _random.NextBytes(key);
        return key;
    }
}
