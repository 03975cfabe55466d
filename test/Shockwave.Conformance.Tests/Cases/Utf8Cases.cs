using static Shockwave.Conformance.Tests.CaseKit;

namespace Shockwave.Conformance.Tests;

/// <summary>
/// Category 6: UTF-8 in text messages (RFC 6455 sections 5.6 and 8.1), numbered as Autobahn numbers them: the sequences of
/// Markus Kuhn's UTF-8 decoder stress test from 6.5 on, then (beyond Autobahn) 6.24/6.25, every split point of a
/// multi-byte text between two fragments.
/// </summary>
internal static class Utf8Cases
{
    private const string ValidRule = "R6455-5.6-a: valid UTF-8 (RFC 3629, noncharacters included) is accepted and echoed byte-exact.";
    private const string InvalidRule = "R6455-8.1-a: a text message that is not valid UTF-8 fails the connection, with 1007 (section 7.4.1).";

    // κόσμε, the stress test's sample text, with multi-byte code points of 2 and 3 bytes.
    private static readonly byte[] Kosme = Hex("ce ba e1 bd b9 cf 83 ce bc ce b5");

    // κόσμε, then a lone surrogate (ED A0 80), then "edited": invalid at byte 12.
    private static readonly byte[] KosmeInvalid = Hex("ce ba e1 bd b9 cf 83 ce bc ce b5 ed a0 80 65 64 69 74 65 64");

    public static IEnumerable<ConformanceCase> Cases()
    {
        var middle = Utf8("middle frame payload");
        yield return Echoes("6.1.1", "empty text message", "A text message with no payload is valid UTF-8 (R6455-5.6-a) and echoed.",
            [Frame.Build(Op.Text, [])], []);
        yield return Echoes("6.1.2", "empty text message in 3 empty fragments",
            "Three empty fragments form one empty message (R6455-5.4-e) and are echoed as one empty text message.",
            [Frame.Build(Op.Text, [], fin: false), Frame.Build(Op.Continuation, [], fin: false), Frame.Build(Op.Continuation, [])], []);
        yield return Echoes("6.1.3", "text in 3 fragments, first and last empty",
            "Empty first and last fragments around a payload form one message (R6455-5.4-e), echoed whole.",
            [Frame.Build(Op.Text, [], fin: false), Frame.Build(Op.Continuation, middle, fin: false), Frame.Build(Op.Continuation, [])], middle);

        var mixed = Utf8("Hello-µ@ßöäüàá-UTF-8!!");
        yield return Echoes("6.2.1", "valid UTF-8 text in one frame", ValidRule, [Frame.Build(Op.Text, mixed)], mixed);
        yield return Echoes("6.2.2", "valid UTF-8 text in 2 fragments split at a code point boundary", ValidRule,
            [Frame.Build(Op.Text, mixed.AsSpan(..6), fin: false), Frame.Build(Op.Continuation, mixed.AsSpan(6..))], mixed);
        yield return Echoes("6.2.3", "valid UTF-8 text in 1-byte fragments",
            ValidRule + " Fragments may end inside a code point (R6455-5.6-a: only the whole message must be valid).", OneByteFrames(mixed), mixed);
        yield return Echoes("6.2.4", "κόσμε in 1-byte fragments",
            ValidRule + " Every fragment but those of ASCII ends inside a code point.", OneByteFrames(Kosme), Kosme);

        yield return Invalid("6.3.1", "invalid UTF-8 text in one frame", [Frame.Build(Op.Text, KosmeInvalid)]);
        yield return Invalid("6.3.2", "invalid UTF-8 text in 1-byte fragments", OneByteFrames(KosmeInvalid));

        // 6.4: fail fast. The invalid byte arrives, the client waits, and the close must come before the rest is sent.
        var tooHigh = Hex("f4 90 80 80");
        var edited = Utf8("edited");
        yield return FailFast("6.4.1", "invalid code point in the 2nd of 3 fragments",
            "fragment 1 κόσμε, fragment 2 F4 90 80 80 (above U+10FFFF), fragment 3 'edited'", framed: true,
            [Kosme, tooHigh, edited]);
        yield return FailFast("6.4.2", "invalid byte at the start of the 2nd of 3 fragments",
            "fragment 1 κόσμε F4, fragment 2 90 (F4 90 is already beyond U+10FFFF), fragment 3 80 80 'edited'", framed: true,
            [[.. Kosme, 0xF4], [0x90], [0x80, 0x80, .. edited]]);
        yield return FailFast("6.4.3", "invalid code point in the middle of one frame, written in 3 chops",
            "one frame; chops: header and κόσμε, then F4 90 80 80, then 'edited'", framed: false,
            [Kosme, tooHigh, edited]);
        yield return FailFast("6.4.4", "invalid byte in the middle of one frame, written in 3 chops",
            "one frame; chops: header and κόσμε F4, then 90, then 80 80 'edited'", framed: false,
            [[.. Kosme, 0xF4], [0x90], [0x80, 0x80, .. edited]]);

        int sub = 5;
        foreach (var (name, sequences) in StressTest())
        {
            int n = 1;
            foreach (var (valid, bytes) in sequences)
            {
                string id = $"6.{sub}.{n++}";
                string title = $"{name}: {Convert.ToHexString(bytes).ToLowerInvariant()}";
                yield return valid
                    ? Echoes(id, title, ValidRule, [Frame.Build(Op.Text, bytes)], bytes)
                    : Invalid(id, title, [Frame.Build(Op.Text, bytes)]);
            }

            sub++;
        }

        // 6.24 (beyond Autobahn): a valid text of 2-, 3- and 4-byte code points split into 2 fragments at every offset.
        var multi = (byte[])[.. Kosme, .. Utf8("hello"), 0xF0, 0xA4, 0xAD, 0xA2, .. Utf8("world")];
        for (int split = 1; split < multi.Length; split++)
        {
            yield return Echoes($"6.24.{split}", $"valid multi-byte text split into 2 fragments at byte {split}",
                ValidRule + " The fragment boundary may fall inside a code point; the validator carries its state across fragments.",
                [Frame.Build(Op.Text, multi.AsSpan(..split), fin: false), Frame.Build(Op.Continuation, multi.AsSpan(split..))], multi);
        }

        // 6.25 (beyond Autobahn): the invalid text of 6.3.1 split into 2 fragments at every offset.
        for (int split = 1; split < KosmeInvalid.Length; split++)
        {
            yield return Invalid($"6.25.{split}", $"invalid text split into 2 fragments at byte {split}",
                [Frame.Build(Op.Text, KosmeInvalid.AsSpan(..split), fin: false), Frame.Build(Op.Continuation, KosmeInvalid.AsSpan(split..))]);
        }
    }

    private static byte[][] OneByteFrames(byte[] text) =>
        [.. text.Select((b, i) => Frame.Build(i == 0 ? Op.Text : Op.Continuation, new[] { b }, fin: i == text.Length - 1))];

    private static ConformanceCase Echoes(string id, string title, string rule, byte[][] frames, byte[] expected) => new()
    {
        Id = id,
        Title = title,
        Description = $"Send {title}. {rule}",
        Body = c => c.SendAsync(Frame.Concat(frames)),
        Expect = Expectation.Echo(Text(expected)),
    };

    private static ConformanceCase Invalid(string id, string title, byte[][] frames) => new()
    {
        Id = id,
        Title = title,
        Description = $"Send {title}. {InvalidRule}",
        Body = c => c.SendAsync(Frame.Concat(frames)),
        Expect = Expectation.Fail(1007),
    };

    private static ConformanceCase FailFast(string id, string title, string layout, bool framed, byte[][] parts) => new()
    {
        Id = id,
        Title = $"fail fast: {title}",
        Description = $"Send an invalid text message in three steps ({layout}), pausing 300 ms after the first. {InvalidRule} " +
                      "Fail fast (issue 5, Autobahn 6.4): the close must arrive once the invalid bytes arrive, before the rest of the " +
                      "message is sent, because the streaming validator rejects a prefix that no continuation can make valid.",
        TimingSensitive = true,
        Body = async c =>
        {
            byte[][] writes = framed
                ? [Frame.Build(Op.Text, parts[0], fin: false), Frame.Build(Op.Continuation, parts[1], fin: false), Frame.Build(Op.Continuation, parts[2])]
                : SplitOneFrame(parts);
            await c.SendAsync(writes[0]);
            await c.DelayAsync(TimeSpan.FromMilliseconds(300));
            if (c.SendingStopped)
            {
                c.Observations.Violation("the server closed on a valid prefix");
                return;
            }

            await c.SendAsync(writes[1]);
            if (!await c.WaitForCloseAsync())
            {
                c.Observations.FailFastMissed = "no close within 2 s of the invalid bytes";
            }

            await c.SendAsync(writes[2]);
        },
        Expect = Expectation.Fail(1007),
    };

    private static byte[][] SplitOneFrame(byte[][] parts)
    {
        var frame = Frame.Build(Op.Text, [.. parts[0], .. parts[1], .. parts[2]]);
        int header = frame.Length - parts.Sum(p => p.Length);
        int first = header + parts[0].Length;
        int second = first + parts[1].Length;
        return [frame[..first], frame[first..second], frame[second..]];
    }

    /// <summary>Autobahn's 6.5-6.23: the sequences of Markus Kuhn's UTF-8 decoder capability and stress test, by group.</summary>
    private static IEnumerable<(string Name, List<(bool Valid, byte[] Bytes)> Sequences)> StressTest()
    {
        yield return ("Some valid UTF-8 sequences", [
            (true, Utf8("hello$world")), (true, [.. Utf8("hello"), 0xC2, 0xA2, .. Utf8("world")]),
            (true, [.. Utf8("hello"), 0xE2, 0x82, 0xAC, .. Utf8("world")]), (true, [.. Utf8("hello"), 0xF0, 0xA4, 0xAD, 0xA2, .. Utf8("world")]),
            (true, Kosme)]);
        yield return ("All prefixes of a valid multi-byte string",
            [.. Enumerable.Range(1, Kosme.Length).Select(i => (Utf8IsValid(Kosme[..i]), Kosme[..i]))]);
        yield return ("First possible sequence of a certain length", [(true, [0x00]), (true, Hex("c280")), (true, Hex("e0a080")), (true, Hex("f0908080"))]);
        yield return ("First possible sequence length 5/6 (invalid code points)", [(false, Hex("f888808080")), (false, Hex("fc8480808080"))]);
        yield return ("Last possible sequence of a certain length", [(true, [0x7F]), (true, Hex("dfbf")), (true, Hex("efbfbf")), (true, Hex("f48fbfbf"))]);
        yield return ("Last possible sequence length 4/5/6 (invalid code points)", [(false, Hex("f7bfbfbf")), (false, Hex("fbbfbfbfbf")), (false, Hex("fdbfbfbfbfbf"))]);
        yield return ("Other boundary conditions", [(true, Hex("ed9fbf")), (true, Hex("ee8080")), (true, Hex("efbfbd")), (true, Hex("f48fbfbf")), (false, Hex("f4908080"))]);
        yield return ("Unexpected continuation bytes", [
            (false, Hex("80")), (false, Hex("bf")), (false, Hex("80bf")), (false, Hex("80bf80")), (false, Hex("80bf80bf")),
            (false, Hex("80bf80bf80")), (false, Hex("80bf80bf80bf")), (false, [.. Enumerable.Range(0x80, 0x3F).Select(b => (byte)b)])]);
        yield return ("Lonely start characters", [.. new[] { (0xC0, 0xDF), (0xE0, 0xEF), (0xF0, 0xF7), (0xF8, 0xFB), (0xFC, 0xFD) }
            .Select(r => (false, Enumerable.Range(r.Item1, r.Item2 - r.Item1).SelectMany(b => new[] { (byte)b, (byte)0x20 }).ToArray()))]);
        byte[][] missing = [Hex("c0"), Hex("e080"), Hex("f08080"), Hex("f8808080"), Hex("fc80808080"), Hex("df"), Hex("efbf"), Hex("f7bfbf"), Hex("fbbfbfbf"), Hex("fdbfbfbfbf")];
        yield return ("Sequences with last continuation byte missing", [.. missing.Select(m => (false, m))]);
        yield return ("Concatenation of incomplete sequences", [(false, missing.SelectMany(m => m).ToArray())]);
        yield return ("Impossible bytes", [(false, Hex("fe")), (false, Hex("ff")), (false, Hex("fefeffff"))]);
        yield return ("Examples of an overlong ASCII character", [(false, Hex("c0af")), (false, Hex("e080af")), (false, Hex("f08080af")), (false, Hex("f8808080af")), (false, Hex("fc80808080af"))]);
        yield return ("Maximum overlong sequences", [(false, Hex("c1bf")), (false, Hex("e09fbf")), (false, Hex("f08fbfbf")), (false, Hex("f887bfbfbf")), (false, Hex("fc83bfbfbfbf"))]);
        yield return ("Overlong representation of the NUL character", [(false, Hex("c080")), (false, Hex("e08080")), (false, Hex("f0808080")), (false, Hex("f880808080")), (false, Hex("fc8080808080"))]);
        yield return ("Single UTF-16 surrogates", [.. new[] { "eda080", "edadbf", "edae80", "edafbf", "edb080", "edbe80", "edbfbf" }.Select(h => (false, Hex(h)))]);
        yield return ("Paired UTF-16 surrogates", [.. new[] { "eda080edb080", "eda080edbfbf", "edadbfedb080", "edadbfedbfbf", "edae80edb080", "edae80edbfbf", "edafbfedb080", "edafbfedbfbf" }.Select(h => (false, Hex(h)))]);
        yield return ("Non-character code points (valid UTF-8)", [.. NonCharacters().Select(b => (true, b))]);
        yield return ("Unicode specials (e.g. the replacement character)", [.. new[] { "efbfb9", "efbfba", "efbfbb", "efbfbc", "efbfbd", "efbfbe", "efbfbf" }.Select(h => (true, Hex(h)))]);
    }

    private static IEnumerable<byte[]> NonCharacters()
    {
        yield return Hex("efbfbe");
        yield return Hex("efbfbf");
        foreach (byte lead in new byte[] { 0xF0, 0xF1, 0xF2, 0xF3, 0xF4 })
        {
            foreach (byte second in new byte[] { 0x8F, 0x9F, 0xAF, 0xBF })
            {
                if (lead == 0xF4 && second != 0x8F)
                {
                    continue; // beyond U+10FFFF
                }

                foreach (byte last in new byte[] { 0xBE, 0xBF })
                {
                    if (lead == 0xF0 && second == 0x8F)
                    {
                        continue; // overlong
                    }

                    yield return [lead, second, 0xBF, last];
                }
            }
        }
    }

    private static bool Utf8IsValid(byte[] bytes) => System.Text.Unicode.Utf8.IsValid(bytes);
}
