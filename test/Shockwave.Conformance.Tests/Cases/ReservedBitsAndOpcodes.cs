using static Shockwave.Conformance.Tests.CaseKit;

namespace Shockwave.Conformance.Tests;

/// <summary>Category 3 (reserved bits, RFC 6455 section 5.2) and category 4 (reserved opcodes, section 5.2).</summary>
internal static class ReservedBitsAndOpcodes
{
    private const string EchoDropped =
        "The valid message before the bad frame may go unechoed: the server may fail the connection as soon as it reads " +
        "the bad frame (R6455-7.1.7-b), and after its close it sends no data (R6455-5.5.1-c). Autobahn grades that NON-STRICT.";

    public static IEnumerable<ConformanceCase> Cases()
    {
        var hello = Utf8("Hello, world!");
        const string RsvRule = "R6455-5.2-b: a nonzero RSV bit with no negotiated extension fails the connection (1002, section 7.4.1), " +
                               "here on /echo where nothing was negotiated.";

        yield return Bad("3.1", "text frame with RSV1 set", RsvRule, c => c.SendFrameAsync(Op.Text, hello, rsv: 1));
        yield return BadAfterEcho("3.2", "text, then text with RSV2, then ping", RsvRule, hello,
            c => c.SendFrameAsync(Op.Text, hello, rsv: 2), 0);
        yield return BadAfterEcho("3.3", "text, then text with RSV3, then ping, written frame by frame", RsvRule, hello,
            c => c.SendFrameAsync(Op.Text, hello, rsv: 3), 50);
        yield return BadAfterEcho("3.4", "text, then text with RSV4, then ping, written in 1-byte chops", RsvRule, hello,
            c => c.SendFrameAsync(Op.Text, hello, rsv: 4, chop: 1), 0, chop: 1);
        yield return Bad("3.5", "binary frame with RSV5 set", RsvRule, c => c.SendFrameAsync(Op.Binary, Fill(8, 0xFF), rsv: 5));
        yield return Bad("3.6", "ping with RSV6 set", RsvRule + " No pong is owed for a frame that fails the connection.",
            c => c.SendFrameAsync(Op.Ping, hello, rsv: 6));
        yield return Bad("3.7", "close with RSV7 set", RsvRule, c => c.SendFrameAsync(Op.Close, Frame.ClosePayload(1000), rsv: 7));

        const string OpRule = "R6455-5.2-c: a reserved opcode (0x3-0x7 data, 0xB-0xF control) fails the connection with 1002.";
        int n = 1;
        foreach (int opcode in new[] { 3, 4, 5, 6, 7 })
        {
            yield return Opcode($"4.1.{n++}", opcode, OpRule);
        }

        n = 1;
        foreach (int opcode in new[] { 11, 12, 13, 14, 15 })
        {
            yield return Opcode($"4.2.{n++}", opcode, OpRule);
        }
    }

    private static ConformanceCase Opcode(string id, int opcode, string rule)
    {
        // As in Autobahn: the first of each group is bare, the second carries a payload, the rest follow a valid message.
        int position = int.Parse(id.Split('.')[2]);
        var payload = position == 1 ? [] : Utf8("reserved opcode payload");
        string kind = opcode < 8 ? "non-control" : "control";
        if (position <= 2)
        {
            return Bad(id, $"reserved {kind} opcode {opcode}{(payload.Length > 0 ? " with payload" : "")}", rule,
                c => c.SendFrameAsync(opcode, payload));
        }

        return BadAfterEcho(id, $"text, then reserved {kind} opcode {opcode} with payload, then ping", rule, Utf8("Hello, world!"),
            c => c.SendFrameAsync(opcode, payload), 0);
    }

    private static ConformanceCase Bad(string id, string title, string rule, Func<CaseConnection, Task> send) => new()
    {
        Id = id,
        Title = title,
        Description = $"Send a {title}. {rule}",
        Body = send,
        Expect = Expectation.Fail(1002),
    };

    private static ConformanceCase BadAfterEcho(string id, string title, string rule, byte[] first, Func<CaseConnection, Task> bad, int pauseMs, int chop = 0) => new()
    {
        Id = id,
        Title = title,
        Description = $"Send a valid text message, a bad frame and a ping ({title}). The valid message is echoed; {rule} " +
                      $"The ping after the bad frame is never answered (R6455-7.1.7-c). {EchoDropped}",
        Body = async c =>
        {
            await c.SendFrameAsync(Op.Text, first, chop: chop);
            await c.DelayAsync(TimeSpan.FromMilliseconds(pauseMs));
            await bad(c);
            await c.DelayAsync(TimeSpan.FromMilliseconds(pauseMs));
            await c.SendFrameAsync(Op.Ping, [], chop: chop);
        },
        Expect = Expectation.Fail(ProtocolError, [Text(first)], []),
        AcceptNonStrict = EchoDropped,
        VerdictMayVary = "whether the first message is echoed depends on whether the bad frame arrives before the handler sends the echo",
    };
}
