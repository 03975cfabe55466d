using System.Text;

namespace Shockwave.Tests.Shared;

/// <summary>
/// Random payloads for the fuzzers and generators of both the protocol tests and the conformance tests (this file is
/// compiled into each): bytes, well-formed UTF-8, and byte sequences no UTF-8 may contain.
/// </summary>
internal static class RandomPayloads
{
    public static byte[] RandomBytes(Random random, int length)
    {
        var bytes = new byte[length];
        random.NextBytes(bytes);
        return bytes;
    }

    /// <summary>
    /// Random well-formed UTF-8 of about <paramref name="length"/> bytes: ASCII and 2-, 3- and 4-byte code points.
    /// With <paramref name="exact"/>, never longer than <paramref name="length"/>.
    /// </summary>
    public static byte[] RandomUtf8(Random random, int length, bool exact)
    {
        var bytes = new List<byte>(length + 4);
        Span<byte> buffer = stackalloc byte[4];
        while (bytes.Count < length)
        {
            var rune = random.Next(4) switch
            {
                0 or 1 => new Rune(random.Next(0x20, 0x7F)),
                2 => new Rune(random.Next(0x80, 0x800)),
                _ => random.Next(2) == 0
                    ? new Rune(random.Next(2) == 0 ? random.Next(0x800, 0xD800) : random.Next(0xE000, 0x10000))
                    : new Rune(random.Next(0x10000, 0x110000)),
            };
            var written = rune.EncodeToUtf8(buffer);
            if (exact && bytes.Count + written > length)
            {
                bytes.Add((byte)'x');
                continue;
            }

            bytes.AddRange(buffer[..written]);
        }

        return [.. bytes];
    }

    /// <summary>Byte sequences no valid UTF-8 can contain, whatever comes before or after.</summary>
    public static byte[] InvalidUtf8(Random random)
    {
        byte[][] sequences =
        [
            [0xFF], // never a UTF-8 byte
            [0xC0, 0xAF], // overlong '/'
            [0xE0, 0x80, 0xAF], // overlong 3-byte form
            [0xED, 0xA0, 0x80], // surrogate U+D800
            [0xF4, 0x90, 0x80, 0x80], // above U+10FFFF
            [0x80], // continuation byte without a lead
            [0xC3, 0x28], // lead byte without its continuation
        ];
        return sequences[random.Next(sequences.Length)];
    }
}
