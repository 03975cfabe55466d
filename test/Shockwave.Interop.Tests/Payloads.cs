using System.Text;
using System.Text.Json;

namespace Shockwave.Interop.Tests;

/// <summary>The shapes of message the interop tests send: compressible and not, text and binary.</summary>
public enum PayloadKind
{
    /// <summary>JSON-like records, text: what compression is for.</summary>
    Json,

    /// <summary>One sentence repeated, text: long back-references.</summary>
    RepeatedText,

    /// <summary>All zeros, binary: the extreme ratio.</summary>
    Zeros,

    /// <summary>Uniform random bytes, binary: deflate expands them a little.</summary>
    RandomBinary,

    /// <summary>Random UTF-8 text mixing 1-, 2- and 3-byte characters: poorly compressible text.</summary>
    RandomText,
}

/// <summary>One message of an interop run, generated deterministically from a seed.</summary>
public sealed record Payload(PayloadKind Kind, int Size, int Seed)
{
    private byte[]? _data;

    public bool IsText => Kind is PayloadKind.Json or PayloadKind.RepeatedText or PayloadKind.RandomText;

    public byte[] Data => _data ??= Generate(Kind, Size, Seed);

    public override string ToString() => $"{Kind}:{Size}:{Seed}";

    public const int KiB = 1024;
    public const int MiB = 1024 * 1024;

    /// <summary>
    /// A mix of kinds and sizes from 1 B to <paramref name="largest"/> for one connection, so context takeover is exercised
    /// across small and large messages in both directions.
    /// </summary>
    public static Payload[] Mix(int seed, int largest = 256 * KiB)
    {
        int[] sizes = [1, 2, 31, 32, 125, 126, 1000, 4 * KiB, 65535, 65536, 100 * KiB, 256 * KiB];
        var kinds = Enum.GetValues<PayloadKind>();
        var list = new List<Payload>();
        int i = 0;
        foreach (int size in sizes)
        {
            if (size > largest)
            {
                continue;
            }

            list.Add(new Payload(kinds[i % kinds.Length], size, seed + i));
            i++;

            // The same kind again, so the second message can back-reference the first when context is kept.
            list.Add(new Payload(kinds[(i - 1) % kinds.Length], size, seed + i));
            i++;
        }

        return [.. list];
    }

    /// <summary>16 MiB messages: a compressible one and a random one.</summary>
    public static Payload[] Huge(int seed) =>
    [
        new(PayloadKind.Json, 16 * MiB, seed),
        new(PayloadKind.RandomBinary, 16 * MiB, seed + 1),
    ];

    private static byte[] Generate(PayloadKind kind, int size, int seed)
    {
        var random = new Random(seed);
        var data = new byte[size];
        switch (kind)
        {
            case PayloadKind.Zeros:
                break;
            case PayloadKind.RandomBinary:
                random.NextBytes(data);
                break;
            case PayloadKind.RepeatedText:
                Fill(data, Encoding.UTF8.GetBytes($"The quick brown fox {seed} jumps over the lazy dog. "));
                break;
            case PayloadKind.Json:
                FillJson(data, random);
                break;
            case PayloadKind.RandomText:
                FillRandomText(data, random);
                break;
        }

        return data;
    }

    private static void Fill(Span<byte> data, ReadOnlySpan<byte> pattern)
    {
        for (int offset = 0; offset < data.Length; offset += pattern.Length)
        {
            pattern[..Math.Min(pattern.Length, data.Length - offset)].CopyTo(data[offset..]);
        }
    }

    private static void FillJson(byte[] data, Random random)
    {
        string[] names = ["alice", "bob", "carol", "dave", "eve", "mallory"];
        int offset = 0;
        int id = 0;
        while (offset < data.Length)
        {
            var record = JsonSerializer.SerializeToUtf8Bytes(new
            {
                id = id++,
                user = names[random.Next(names.Length)],
                score = random.Next(100_000),
                active = random.Next(2) == 1,
                tags = new[] { "interop", names[random.Next(names.Length)] },
            });
            int count = Math.Min(record.Length, data.Length - offset);
            record.AsSpan(0, count).CopyTo(data.AsSpan(offset));
            offset += count;
        }

        // Truncation only ever cuts ASCII, so the text stays valid UTF-8.
    }

    private static void FillRandomText(byte[] data, Random random)
    {
        byte[][] characters = [.. new[] { "a", "Z", "7", " ", "é", "ß", "€", "語" }.Select(Encoding.UTF8.GetBytes)];
        int offset = 0;
        while (offset < data.Length)
        {
            var character = characters[random.Next(characters.Length)];
            if (character.Length > data.Length - offset)
            {
                character = characters[0];
            }

            character.CopyTo(data, offset);
            offset += character.Length;
        }
    }
}
