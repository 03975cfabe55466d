using System.Buffers.Binary;
using System.Text;

using static Shockwave.Tests.Shared.RandomPayloads;

namespace Shockwave.Conformance.Tests.Fuzzing;

/// <summary>
/// Seeded client frame streams for the network fuzzer and the segmentation tests: valid echo sequences (text and binary,
/// whole or fragmented with pings and pongs between the fragments, at all three length encodings, minimal or not), now and
/// then an invalid unit (invalid UTF-8, an oversized or fragmented control frame, an unmasked frame, garbage), and
/// mutations of the wire bytes. Masks come from the seed, so a seed names its bytes exactly. What the server must make of
/// the bytes is not tracked here: <see cref="EchoModel"/> derives it from the bytes alone, mutated or not.
/// </summary>
internal static class FuzzStreams
{
    /// <summary>A valid stream of <paramref name="units"/> messages and control frames, optionally ending in a close.</summary>
    public static List<byte> Valid(Random random, int units, bool allowLarge)
    {
        var bytes = new List<byte>();
        for (int unit = 0; unit < units; unit++)
        {
            if (random.Next(5) == 0)
            {
                AddPingOrPong(bytes, random);
            }
            else
            {
                AddMessage(bytes, random, allowLarge);
            }
        }

        return bytes;
    }

    /// <summary>A fuzz input: a valid stream with an invalid unit now and then, mutated one to three times.</summary>
    public static byte[] Mutated(Random random)
    {
        var bytes = Valid(random, random.Next(1, 7), allowLarge: random.Next(20) == 0);
        if (random.Next(3) == 0)
        {
            AddInvalid(bytes, random);
        }

        if (random.Next(4) == 0)
        {
            bytes.AddRange(Valid(random, random.Next(1, 3), allowLarge: false));
        }

        int mutations = random.Next(6) == 0 ? 0 : random.Next(1, 4);
        for (int m = 0; m < mutations; m++)
        {
            Mutate(bytes, random);
        }

        if (random.Next(8) == 0)
        {
            AddClose(bytes, random);
        }

        return [.. bytes];
    }

    public static void AddMessage(List<byte> bytes, Random random, bool allowLarge)
    {
        int opcode = random.Next(2) == 0 ? 1 : 2;
        int length = random.Next(10) switch
        {
            0 => 0,
            < 6 => random.Next(1, 40),
            < 9 => random.Next(100, 400),
            _ => allowLarge ? random.Next(65_530, 70_000) : random.Next(400, 1_500),
        };
        byte[] payload = opcode == 1 ? RandomUtf8(random, length, exact: true) : RandomBytes(random, length);
        int fragments = random.Next(3) == 0 ? random.Next(2, 6) : 1;
        var cuts = Enumerable.Range(0, fragments - 1).Select(_ => random.Next(payload.Length + 1)).Order().ToArray();
        int start = 0;
        for (int i = 0; i < fragments; i++)
        {
            int end = i < fragments - 1 ? cuts[i] : payload.Length;
            bool last = i == fragments - 1;
            AddFrame(bytes, random, i == 0 ? opcode : 0, payload.AsSpan(start, end - start), fin: last);
            start = end;

            // R6455-5.4-d: control frames may come between the fragments of a message.
            if (!last && random.Next(3) == 0)
            {
                AddPingOrPong(bytes, random);
            }
        }
    }

    public static void AddPingOrPong(List<byte> bytes, Random random) =>
        AddFrame(bytes, random, random.Next(3) == 0 ? 0xA : 0x9, RandomBytes(random, random.Next(6) == 0 ? 125 : random.Next(0, 20)));

    public static void AddClose(List<byte> bytes, Random random)
    {
        if (random.Next(4) == 0)
        {
            AddFrame(bytes, random, 0x8, []);
            return;
        }

        ushort[] codes = [1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 3000, 3999, 4000, 4999];
        var payload = new List<byte>();
        var code = new byte[2];
        BinaryPrimitives.WriteUInt16BigEndian(code, codes[random.Next(codes.Length)]);
        payload.AddRange(code);
        payload.AddRange(RandomUtf8(random, random.Next(0, 30), exact: true).Take(123 - 4));
        AddFrame(bytes, random, 0x8, [.. payload]);
    }

    /// <summary>One unit a server must fail the connection on (or, for a truncated one, wait on).</summary>
    public static void AddInvalid(List<byte> bytes, Random random)
    {
        switch (random.Next(9))
        {
            case 0:
                // R6455-8.1: invalid UTF-8 in a text message, alone or in a fragment.
                byte[] bad = [.. RandomUtf8(random, random.Next(0, 30), exact: true), .. InvalidUtf8(random), .. RandomUtf8(random, random.Next(0, 30), exact: true)];
                AddFrame(bytes, random, 1, bad, fin: random.Next(2) == 0);
                break;
            case 1:
                // R6455-5.5: control frames carry at most 125 bytes.
                AddFrame(bytes, random, 0x8 + random.Next(3), RandomBytes(random, random.Next(126, 400)));
                break;
            case 2:
                AddFrame(bytes, random, 0x9, RandomBytes(random, random.Next(0, 10)), fin: false);
                break;
            case 3:
                AddFrame(bytes, random, random.Next(16), RandomBytes(random, random.Next(0, 20)), rsv: random.Next(8));
                break;
            case 4:
                AddFrame(bytes, random, random.Next(2) == 0 ? 1 : 2, RandomBytes(random, random.Next(0, 20)), mask: false);
                break;
            case 5:
                // A declared length beyond any limit (64-bit, sometimes with the top bit set), and some of its payload.
                ulong declared = random.Next(2) == 0 ? 0x8000_0000_0000_0000UL | (ulong)random.NextInt64() : (ulong)random.NextInt64(65L << 20, 1L << 40);
                AddHeader(bytes, random, random.Next(3), 0x80, declared, 8, mask: true);
                bytes.AddRange(RandomBytes(random, random.Next(0, 64)));
                break;
            case 6:
                // Garbage where a frame should start.
                bytes.AddRange(RandomBytes(random, random.Next(1, 64)));
                break;
            case 7:
                // A close frame with an invalid code or an invalid reason.
                ushort[] invalid = [0, 999, 1004, 1005, 1006, 1015, 1016, 2999, 5000, 65535];
                byte[] close = random.Next(2) == 0
                    ? [.. Code(invalid[random.Next(invalid.Length)]), .. RandomUtf8(random, random.Next(0, 10), exact: true)]
                    : [.. Code(1000), .. RandomUtf8(random, random.Next(0, 10), exact: true), .. InvalidUtf8(random)];
                AddFrame(bytes, random, 0x8, random.Next(6) == 0 ? [0x03] : close);
                break;
            default:
                // Fragmentation order: a continuation with nothing to continue, or a new message inside one.
                if (random.Next(2) == 0)
                {
                    AddFrame(bytes, random, 0, RandomBytes(random, random.Next(0, 10)), fin: random.Next(2) == 0);
                }
                else
                {
                    AddFrame(bytes, random, 2, RandomBytes(random, random.Next(0, 10)), fin: false);
                    AddFrame(bytes, random, 1 + random.Next(2), RandomBytes(random, random.Next(0, 10)));
                }

                break;
        }
    }

    /// <summary>Appends one frame. The length uses the minimal encoding, or now and then a longer one (which RFC 6455 forbids a sender but no reader checks).</summary>
    public static void AddFrame(List<byte> bytes, Random random, int opcode, ReadOnlySpan<byte> payload, bool fin = true, int rsv = 0, bool mask = true)
    {
        int minimal = payload.Length < 126 ? 0 : payload.Length <= ushort.MaxValue ? 2 : 8;
        int extended = random.Next(16) == 0 ? Math.Max(minimal, random.Next(2) == 0 ? 2 : 8) : minimal;
        AddHeader(bytes, random, opcode, (fin ? 0x80 : 0) | ((rsv & 7) << 4), (ulong)payload.Length, extended, mask);
        int maskAt = bytes.Count - 4;
        for (int i = 0; i < payload.Length; i++)
        {
            bytes.Add(mask ? (byte)(payload[i] ^ bytes[maskAt + (i & 3)]) : payload[i]);
        }
    }

    private static void AddHeader(List<byte> bytes, Random random, int opcode, int flags, ulong length, int extended, bool mask)
    {
        bytes.Add((byte)(flags | (opcode & 0xF)));
        int maskBit = mask ? 0x80 : 0;
        if (extended == 0)
        {
            bytes.Add((byte)(maskBit | (int)length));
        }
        else if (extended == 2)
        {
            bytes.Add((byte)(maskBit | 126));
            bytes.Add((byte)(length >> 8));
            bytes.Add((byte)length);
        }
        else
        {
            bytes.Add((byte)(maskBit | 127));
            for (int shift = 56; shift >= 0; shift -= 8)
            {
                bytes.Add((byte)(length >> shift));
            }
        }

        if (mask)
        {
            bytes.AddRange(RandomBytes(random, 4));
        }
    }

    private static void Mutate(List<byte> bytes, Random random)
    {
        if (bytes.Count == 0)
        {
            bytes.AddRange(RandomBytes(random, random.Next(1, 16)));
            return;
        }

        switch (random.Next(9))
        {
            case 0:
                for (int flips = random.Next(1, 4); flips > 0; flips--)
                {
                    bytes[random.Next(bytes.Count)] ^= (byte)(1 << random.Next(8));
                }

                break;
            case 1:
                // Aim at header bits: the first two bytes of the stream are always a header.
                bytes[random.Next(Math.Min(2, bytes.Count))] ^= (byte)(1 << random.Next(8));
                break;
            case 2:
                int keep = random.Next(bytes.Count);
                bytes.RemoveRange(keep, bytes.Count - keep);
                break;
            case 3:
                // Splice: a prefix of this stream, then a suffix of another.
                var other = Valid(random, random.Next(1, 4), allowLarge: false);
                int cut = random.Next(bytes.Count + 1);
                bytes.RemoveRange(cut, bytes.Count - cut);
                bytes.AddRange(other.Skip(random.Next(other.Count + 1)));
                break;
            case 4:
                int start = random.Next(bytes.Count);
                int length = random.Next(1, Math.Min(64, bytes.Count - start) + 1);
                bytes.InsertRange(start + length, bytes.GetRange(start, length));
                break;
            case 5:
                int from = random.Next(bytes.Count);
                bytes.RemoveRange(from, random.Next(1, Math.Min(32, bytes.Count - from) + 1));
                break;
            case 6:
                bytes.InsertRange(random.Next(bytes.Count + 1), RandomBytes(random, random.Next(1, 16)));
                break;
            case 7:
                // A random length where the first header's 7-bit length sits, or a 64-bit length inserted after it:
                // beyond the limit, with the top bit set, or plausible (the server then waits for the payload).
                if (bytes.Count > 1 && random.Next(2) == 0)
                {
                    bytes[1] = (byte)((bytes[1] & 0x80) | random.Next(128));
                }
                else if (bytes.Count > 1)
                {
                    ulong declared = random.Next(3) switch
                    {
                        0 => 0x8000_0000_0000_0000UL | (ulong)random.NextInt64(),
                        1 => (ulong)random.NextInt64((64L << 20) + 1, long.MaxValue),
                        _ => (ulong)random.Next(0, 64 << 20),
                    };
                    var field = new byte[8];
                    BinaryPrimitives.WriteUInt64BigEndian(field, declared);
                    bytes[1] = (byte)((bytes[1] & 0x80) | 127);
                    bytes.InsertRange(2, field);
                }

                break;
            default:
                byte[] interesting = [0x00, 0x7D, 0x7E, 0x7F, 0x80, 0xFF, 0xED, 0xC0, 0xF4, 0x88, 0x08, 0x89, 0x8A, 0x01, 0x81, 0x82];
                bytes[random.Next(bytes.Count)] = interesting[random.Next(interesting.Length)];
                break;
        }
    }

    private static byte[] Code(ushort code)
    {
        var bytes = new byte[2];
        BinaryPrimitives.WriteUInt16BigEndian(bytes, code);
        return bytes;
    }
}
