using System.Globalization;
using System.Text;
using System.Text.Unicode;
using Shockwave.Protocol;

namespace Shockwave.Protocol.Tests;

// R6455-8.1-a: bytes that should be UTF-8 but are not fail the connection (1007); fail-fast per fragment is allowed,
// and the validator does it per chunk. R6455-5.6-a: a code point may be split across fragments, so every case is
// also fed byte by byte and split at every position. Utf8.IsValid on the whole input is the oracle throughout.
public class Utf8ValidatorTests
{
    // Markus Kuhn's UTF-8 decoder capability and stress test, by section, plus the Unicode Table 3-7 edges.
    public static TheoryData<string, bool> Cases => new()
    {
        // 1-2: correct text and the first and last code point of each length.
        { "", true },
        { "ce ba e1 bd b9 cf 83 ce bc ce b5", true }, // "κόσμε"
        { "00", true },
        { "c2 80", true },
        { "e0 a0 80", true },
        { "f0 90 80 80", true },
        { "7f", true }, // U+007F
        { "df bf", true }, // U+07FF
        { "ef bf bf", true }, // U+FFFF, a noncharacter, still well-formed
        { "f4 8f bf bf", true }, // U+10FFFF
        { "ed 9f bf", true }, // U+D7FF, just below the surrogates
        { "ee 80 80", true }, // U+E000, just above them
        { "ef bf bd", true }, // U+FFFD
        { "ef bf be", true }, // U+FFFE, noncharacter
        { "ef b7 90", true }, // U+FDD0, noncharacter
        { "f0 9f bf bf", true }, // U+1FFFF, noncharacter
        { "f1 80 80 80", true },
        { "f3 bf bf bf", true },
        { "48 65 6c 6c 6f 2d c2 b5 40 c3 9f c3 b6 c3 a4 c3 bc c3 a0 c3 a1 2d 55 54 46 2d 38 21 21", true },

        // 2.3 beyond the last valid code point, and 5-/6-byte forms.
        { "f4 90 80 80", false }, // U+110000
        { "f7 bf bf bf", false },
        { "f8 88 80 80 80", false },
        { "fb bf bf bf bf", false },
        { "fc 84 80 80 80 80", false },
        { "fd bf bf bf bf bf", false },

        // 3.1 lone and runs of continuation bytes.
        { "80", false },
        { "bf", false },
        { "80 bf", false },
        { "80 bf 80 bf 80 bf 80", false },
        { "41 80 41", false },
        { "c2 80 80", false },
        { "f0 90 80 80 80", false },

        // 3.2 lead bytes followed by a space (a lead where a continuation is expected, and vice versa).
        { "c0 20", false },
        { "c2 20", false },
        { "df 20", false },
        { "e0 20", false },
        { "ef 20", false },
        { "f0 20", false },
        { "f4 20", false },
        { "e1 c2 80", false },
        { "f1 80 e1 80 80", false },

        // 3.3-3.4 sequences with the last continuation byte missing, alone and concatenated.
        { "c2", false },
        { "df", false },
        { "e0 a0", false },
        { "e1 80", false },
        { "ef bf", false },
        { "f0 90 80", false },
        { "f4 8f bf", false },
        { "f0 90", false },
        { "f1", false },
        { "c2 e0 a0 f0 90 80 df ef bf f4 8f bf", false },
        { "41 42 43 e2 82", false },

        // 3.5 bytes that never appear in UTF-8.
        { "c0", false },
        { "c1", false },
        { "f5", false },
        { "f6", false },
        { "fe", false },
        { "ff", false },
        { "fe fe ff ff", false },
        { "41 ff 41", false },

        // 4.1-4.3 overlong forms of "/" and of the largest overlong value at each length, and NUL.
        { "c0 af", false },
        { "e0 80 af", false },
        { "f0 80 80 af", false },
        { "f8 80 80 80 af", false },
        { "c1 bf", false },
        { "e0 9f bf", false },
        { "f0 8f bf bf", false },
        { "c0 80", false },
        { "e0 80 80", false },
        { "f0 80 80 80", false },

        // 5.1-5.2 surrogates, single and paired (CESU-8).
        { "ed a0 80", false }, // U+D800
        { "ed ad bf", false }, // U+DB7F
        { "ed ae 80", false }, // U+DB80
        { "ed af bf", false }, // U+DBFF
        { "ed b0 80", false }, // U+DC00
        { "ed be 80", false }, // U+DF80
        { "ed bf bf", false }, // U+DFFF
        { "ed a0 80 ed b0 80", false }, // U+D800 U+DC00
        { "ed af bf ed bf bf", false }, // U+DBFF U+DFFF

        // The R6455-8.1-a example from the autobahn suite: valid text with a surrogate in the middle.
        { "ce ba e1 bd b9 cf 83 ce bc ce b5 ed a0 80 65 64 69 74 65 64", false },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void Append_WholeByteByByteAndEverySplit_MatchesUtf8IsValid(string hex, bool expected)
    {
        var bytes = Hex(hex);
        Assert.Equal(expected, Utf8.IsValid(bytes)); // the table itself agrees with the oracle
        Assert.Equal(expected, Utf8Validator.IsValid(bytes));

        Assert.Equal(expected, Feed(bytes, [bytes.Length]));
        Assert.Equal(expected, Feed(bytes, Enumerable.Repeat(1, bytes.Length).ToArray()));
        for (var split = 0; split <= bytes.Length; split++)
        {
            Assert.Equal(expected, Feed(bytes, [split, bytes.Length - split]));
        }

        // Every split into three pieces reaches a pending sequence across two chunk edges.
        for (var a = 0; a <= bytes.Length; a++)
        {
            for (var b = a; b <= bytes.Length; b++)
            {
                Assert.Equal(expected, Feed(bytes, [a, b - a, bytes.Length - b]));
            }
        }
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void Append_ByteByByte_FailsOnFirstImpossibleByte(string hex, bool expected)
    {
        var bytes = Hex(hex);
        var validator = new Utf8Validator();
        for (var i = 0; i < bytes.Length; i++)
        {
            var viable = IsViablePrefix(bytes.AsSpan(0, i + 1));
            Assert.True(viable == validator.Append(bytes.AsSpan(i, 1)), $"byte {i} (0x{bytes[i]:X2}): expected Append to return {viable}");
            if (!viable)
            {
                Assert.False(expected);
                return;
            }
        }

        Assert.Equal(expected, validator.Complete());
    }

    [Fact]
    public void Append_SurrogateInMiddleByteByByte_FailsOnA0Byte()
    {
        // R6455-8.1-a: "κόσμε" then ED A0 80 (U+D800). ED may still start U+D000-U+D7FF; A0 cannot follow it.
        var bytes = Hex("ce ba e1 bd b9 cf 83 ce bc ce b5 ed a0 80 65 64 69 74 65 64");
        var validator = new Utf8Validator();
        for (var i = 0; i < 12; i++)
        {
            Assert.True(validator.Append(bytes.AsSpan(i, 1)), $"byte {i}");
        }

        Assert.False(validator.IsAtCharacterBoundary); // ED is pending
        Assert.False(validator.Append(bytes.AsSpan(12, 1))); // A0
        Assert.False(validator.Append(bytes.AsSpan(13))); // sticky
        Assert.False(validator.Complete());
    }

    // Each pair: a chunk that is a valid beginning, then a chunk whose first byte makes it impossible.
    [Theory]
    [InlineData("e0", "80")] // overlong 3-byte form
    [InlineData("e0", "9f")]
    [InlineData("ed", "a0")] // surrogate
    [InlineData("ed", "bf")]
    [InlineData("f0", "80")] // overlong 4-byte form
    [InlineData("f0", "8f")]
    [InlineData("f4", "90")] // above U+10FFFF
    [InlineData("f4", "bf")]
    [InlineData("c2", "41")] // ASCII where a continuation is expected
    [InlineData("e1 80", "c2")] // lead where a continuation is expected
    [InlineData("f1 80 80", "f1")]
    [InlineData("41", "80")] // continuation without lead
    [InlineData("c2 80", "80")]
    [InlineData("41 42", "c0")] // never valid
    [InlineData("41 42", "c1")]
    [InlineData("41 42", "f5")]
    [InlineData("41 42", "ff")]
    public void Append_ImpossibleByteAtStartOfNextChunk_FailsOnThatChunk(string first, string second)
    {
        var validator = new Utf8Validator();

        Assert.True(validator.Append(Hex(first)));
        Assert.False(validator.Append(Hex(second)));
        Assert.False(validator.IsAtCharacterBoundary);
    }

    // The impossible byte arrives at the end of a chunk whose other bytes are fine: the held-back tail is checked
    // in the same call, not deferred to the next chunk.
    [Theory]
    [InlineData("41 42 43 ed a0")]
    [InlineData("41 42 43 e0 80")]
    [InlineData("41 42 43 f0 8f")]
    [InlineData("41 42 43 f4 90")]
    [InlineData("41 42 43 f4 90 80")]
    [InlineData("ce ba ce ba ce ba ce ba ce ba ce ba ce ba ce ba ce ba ce ba ed a0")]
    [InlineData("41 42 43 c0")]
    [InlineData("41 42 43 f5")]
    [InlineData("41 42 43 80")]
    public void Append_ImpossibleByteAtEndOfChunk_FailsOnThatChunk(string hex)
    {
        var validator = new Utf8Validator();
        Assert.False(validator.Append(Hex(hex)));
    }

    [Theory]
    [InlineData("41 42 c2", 1)]
    [InlineData("41 42 e0 a0", 1)]
    [InlineData("e1", 2)]
    [InlineData("41 f0 90 80", 1)]
    [InlineData("f4 8f", 2)]
    public void Append_ChunkEndsInsideCodePoint_SucceedsUntilCompleted(string hex, int missing)
    {
        var validator = new Utf8Validator();

        Assert.True(validator.Append(Hex(hex)));
        Assert.False(validator.IsAtCharacterBoundary);
        Assert.True(validator.Append([])); // an empty chunk changes nothing

        var finished = validator;
        Assert.True(finished.Append(Enumerable.Repeat((byte)0x80, missing).ToArray()));
        Assert.True(finished.IsAtCharacterBoundary);
        Assert.True(finished.Complete());

        // R6455-8.1-a: a sequence still open at the end of the message is invalid.
        Assert.False(validator.Complete());
        Assert.False(validator.Append("A"u8));
    }

    [Fact]
    public void Default_IsAtBoundaryAndCompletesEmptyText()
    {
        var validator = default(Utf8Validator);

        Assert.True(validator.IsAtCharacterBoundary);
        Assert.True(validator.Complete());
    }

    [Fact]
    public void Reset_AfterFailure_AcceptsNextMessage()
    {
        var validator = new Utf8Validator();
        Assert.False(validator.Append(Hex("ed a0 80")));
        Assert.False(validator.Append("ok"u8));

        validator.Reset();

        Assert.True(validator.IsAtCharacterBoundary);
        Assert.True(validator.Append("ok \u00e9"u8));
        Assert.True(validator.Complete());
    }

    [Fact]
    public void Reset_WithPendingSequence_ForgetsIt()
    {
        var validator = new Utf8Validator();
        Assert.True(validator.Append(Hex("e2 82")));

        validator.Reset();

        Assert.True(validator.Append("A"u8));
        Assert.True(validator.Complete());
    }

    [Fact]
    public void Append_LongMixedTextInIrregularChunks_IsValid()
    {
        // Long enough for the vectorised ASCII skip and Utf8.IsValid to do the bulk of the work.
        var text = string.Concat(Enumerable.Repeat("plain ASCII run, κόσμε, 日本語, 🎉 emoji\n", 500));
        var bytes = Encoding.UTF8.GetBytes(text);
        var validator = new Utf8Validator();
        var position = 0;
        var piece = 1;
        while (position < bytes.Length)
        {
            var length = Math.Min(piece, bytes.Length - position);
            Assert.True(validator.Append(bytes.AsSpan(position, length)));
            position += length;
            piece = (piece * 7 % 1021) + 1;
        }

        Assert.True(validator.Complete());
    }

    // Seeded differential test: random inputs biased towards valid UTF-8, each mutated in a way that tends to hit
    // edge cases, fed in random chunks. After every chunk Append must equal "the bytes so far can still be
    // completed to valid UTF-8", and Complete must equal Utf8.IsValid of the whole.
    [Fact]
    public void Append_RandomInputsAndChunking_MatchUtf8IsValidAndFailFast()
    {
        var random = new Random(20_111_213);
        var validCount = 0;
        for (var trial = 0; trial < 3000; trial++)
        {
            var bytes = RandomInput(random);
            var expected = Utf8.IsValid(bytes);
            validCount += expected ? 1 : 0;

            var validator = new Utf8Validator();
            var position = 0;
            var failed = false;
            while (position < bytes.Length)
            {
                var length = random.Next(3) == 0 ? random.Next(1, 4) : random.Next(1, bytes.Length - position + 1);
                length = Math.Min(length, bytes.Length - position);
                position += length;

                var viable = !failed && IsViablePrefix(bytes.AsSpan(0, position));
                var appended = validator.Append(bytes.AsSpan(position - length, length));
                if (appended != viable)
                {
                    Assert.Fail($"trial {trial}, input {Convert.ToHexString(bytes)}, after {position} bytes: Append returned {appended}, expected {viable}.");
                }

                failed |= !viable;
            }

            Assert.True(expected == validator.Complete(), $"trial {trial}, input {Convert.ToHexString(bytes)}");
        }

        // The generator must produce a fair share of both outcomes, or the test proves little.
        Assert.InRange(validCount, 600, 2400);
    }

    private static bool Feed(byte[] bytes, int[] pieces)
    {
        var validator = new Utf8Validator();
        var position = 0;
        var ok = true;
        foreach (var piece in pieces)
        {
            ok = validator.Append(bytes.AsSpan(position, piece));
            position += piece;
        }

        Assert.Equal(bytes.Length, position);
        var complete = validator.Complete();
        Assert.True(ok || !complete, "a failed Append must make Complete fail");
        return complete;
    }

    // Independent of the validator: a prefix is viable if it, or it followed by up to three continuation bytes,
    // is valid. The candidate bytes cover the edge of every first-continuation range in Unicode Table 3-7.
    private static readonly byte[] Continuations = [0x80, 0x8F, 0x90, 0x9F, 0xA0, 0xBF];

    private static bool IsViablePrefix(ReadOnlySpan<byte> prefix)
    {
        if (Utf8.IsValid(prefix))
        {
            return true;
        }

        Span<byte> buffer = stackalloc byte[prefix.Length + 3];
        prefix.CopyTo(buffer);
        foreach (var a in Continuations)
        {
            buffer[prefix.Length] = a;
            if (Utf8.IsValid(buffer[..(prefix.Length + 1)]))
            {
                return true;
            }

            foreach (var b in Continuations)
            {
                buffer[prefix.Length + 1] = b;
                if (Utf8.IsValid(buffer[..(prefix.Length + 2)]))
                {
                    return true;
                }

                foreach (var c in Continuations)
                {
                    buffer[prefix.Length + 2] = c;
                    if (Utf8.IsValid(buffer))
                    {
                        return true;
                    }
                }
            }
        }

        return false;
    }

    private static byte[] RandomInput(Random random)
    {
        var output = new List<byte>();
        Span<byte> encoded = stackalloc byte[4];
        var count = random.Next(0, 24);
        for (var i = 0; i < count; i++)
        {
            // Code points from each encoding length and from the edges of the forbidden ranges.
            var scalar = random.Next(8) switch
            {
                0 or 1 => random.Next(0x00, 0x80),
                2 => random.Next(0x80, 0x800),
                3 => random.Next(0x800, 0xD800),
                4 => random.Next(0xE000, 0x10000),
                5 => random.Next(0x10000, 0x110000),
                6 => new[] { 0x7F, 0x80, 0x7FF, 0x800, 0xD7FF, 0xE000, 0xFFFD, 0xFFFE, 0xFFFF, 0x10000, 0x10FFFF }[random.Next(11)],
                _ => random.Next(0x1F300, 0x1F600),
            };
            var written = new Rune(scalar).EncodeToUtf8(encoded);
            output.AddRange(encoded[..written].ToArray());
        }

        // Half the inputs are corrupted once or twice: a random byte, a byte from the interesting lead and
        // continuation ranges, a deletion (truncating a sequence), or a forbidden sequence spliced in.
        if (random.Next(2) == 0)
        {
            var edits = random.Next(1, 3);
            for (var e = 0; e < edits; e++)
            {
                var at = random.Next(output.Count + 1);
                switch (random.Next(5))
                {
                    case 0:
                        output.Insert(at, (byte)random.Next(256));
                        break;
                    case 1:
                        byte[] special = [0x80, 0xBF, 0xC0, 0xC1, 0xC2, 0xDF, 0xE0, 0xED, 0xEF, 0xF0, 0xF4, 0xF5, 0xFF];
                        output.Insert(at, special[random.Next(special.Length)]);
                        break;
                    case 2 when output.Count > 0:
                        output.RemoveAt(Math.Min(at, output.Count - 1));
                        break;
                    case 3:
                        string[] forbidden = ["ed a0 80", "ed bf bf", "e0 80 80", "e0 9f bf", "f0 80 80 80", "f0 8f bf bf", "f4 90 80 80", "c0 80", "c1 bf"];
                        output.InsertRange(at, Hex(forbidden[random.Next(forbidden.Length)]));
                        break;
                    default:
                        if (output.Count > 0)
                        {
                            output[Math.Min(at, output.Count - 1)] ^= (byte)(1 << random.Next(8));
                        }

                        break;
                }
            }
        }

        return [.. output];
    }

    private static byte[] Hex(string hex) =>
        hex.Length == 0
            ? []
            : hex.Split(' ').Select(h => byte.Parse(h, NumberStyles.HexNumber, CultureInfo.InvariantCulture)).ToArray();
}
