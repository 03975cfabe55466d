using static Shockwave.Conformance.Tests.CaseKit;

namespace Shockwave.Conformance.Tests;

/// <summary>Category 5: fragmentation (RFC 6455 section 5.4).</summary>
internal static class Fragmentation
{
    private enum Chops
    {
        OneWrite,
        Octets,
        Frames,
    }

    public static IEnumerable<ConformanceCase> Cases()
    {
        var f1 = Utf8("fragment1");
        var f2 = Utf8("fragment2");
        var f3 = Utf8("fragment3");
        var f4 = Utf8("fragment4");
        var f5 = Utf8("fragment5");
        var whole = Utf8("fragment1fragment2");

        yield return Fails("5.1", "ping in 2 fragments", "R6455-5.4-a/5.5-a: control frames are never fragmented; a ping with FIN=0 fails the connection with 1002.",
            [Frame.Build(Op.Ping, f1, fin: false), Frame.Build(Op.Continuation, f2)]);
        yield return Fails("5.2", "pong in 2 fragments", "R6455-5.4-a/5.5-a: control frames are never fragmented; a pong with FIN=0 fails the connection with 1002.",
            [Frame.Build(Op.Pong, f1, fin: false), Frame.Build(Op.Continuation, f2)]);

        string echoRule = "R6455-5.4-e: fragmented messages are received; R6455-6.2-c/6.2-d: the type comes from the first frame and the " +
                          "FIN frame ends the message, echoed whole.";
        int id = 3;
        foreach (var chops in new[] { Chops.OneWrite, Chops.Octets, Chops.Frames })
        {
            yield return Sends($"5.{id++}", $"text in 2 fragments{Suffix(chops)}", echoRule, chops,
                [Frame.Build(Op.Text, f1, fin: false), Frame.Build(Op.Continuation, f2)], Text(whole));
        }

        string pingRule = "R6455-5.4-d: a control frame between the fragments of a message is handled: the ping is answered first (R6455-5.5.2-a), then the message is echoed.";
        foreach (var chops in new[] { Chops.OneWrite, Chops.Octets, Chops.Frames })
        {
            yield return Sends($"5.{id++}", $"text in 2 fragments with a ping between them{Suffix(chops)}", pingRule, chops,
                [Frame.Build(Op.Text, f1, fin: false), Frame.Build(Op.Ping, Utf8("ping payload")), Frame.Build(Op.Continuation, f2)],
                Pong(Utf8("ping payload")), Text(whole));
        }

        string orphanRule = "R6455-5.4-f/6.2-c: a continuation frame with no message to continue is a protocol error; the connection fails with 1002.";
        foreach (var chops in new[] { Chops.OneWrite, Chops.Octets, Chops.Frames })
        {
            yield return Fails($"5.{id++}", $"continuation (FIN=1) with nothing to continue, then a text message{Suffix(chops)}", orphanRule,
                [Frame.Build(Op.Continuation, f2), Frame.Build(Op.Text, f1)], chops);
        }

        foreach (var chops in new[] { Chops.OneWrite, Chops.Octets, Chops.Frames })
        {
            yield return Fails($"5.{id++}", $"continuation (FIN=0) with nothing to continue, then a text message{Suffix(chops)}", orphanRule,
                [Frame.Build(Op.Continuation, f2, fin: false), Frame.Build(Op.Text, f1)], chops);
        }

        yield return new ConformanceCase
        {
            Id = "5.15",
            Title = "text in 2 fragments, then continuation (FIN=0) and text fragments",
            Description = "Send a complete 2-fragment message, then a continuation frame that continues nothing, then a text frame. " +
                          "The first message is echoed; " + orphanRule + " The echo may be dropped if the server fails first (R6455-5.5.1-c): NON-STRICT, as in Autobahn.",
            Body = c => c.SendAsync(Frame.Concat(Frame.Build(Op.Text, f1, fin: false), Frame.Build(Op.Continuation, f2),
                Frame.Build(Op.Continuation, f3, fin: false), Frame.Build(Op.Text, f4))),
            Expect = Expectation.Fail(ProtocolError, [Text(whole)], []),
            AcceptNonStrict = "the server may fail the connection before its handler echoes the first message; no data follows its close (R6455-5.5.1-c)",
            VerdictMayVary = "whether the first message is echoed depends on whether the bad frame arrives before the handler sends the echo",
        };

        var interleaved = new[]
        {
            Frame.Build(Op.Continuation, f1, fin: false), Frame.Build(Op.Text, f2, fin: false), Frame.Build(Op.Continuation, f3),
            Frame.Build(Op.Continuation, f4, fin: false), Frame.Build(Op.Text, f5, fin: false), Frame.Build(Op.Continuation, f1),
        };
        yield return Fails("5.16", "twice: continuation (FIN=0), text (FIN=0), continuation (FIN=1)", orphanRule, interleaved);

        var interleaved2 = new[]
        {
            Frame.Build(Op.Continuation, f1), Frame.Build(Op.Text, f2, fin: false), Frame.Build(Op.Continuation, f3),
            Frame.Build(Op.Continuation, f4), Frame.Build(Op.Text, f5, fin: false), Frame.Build(Op.Continuation, f1),
        };
        yield return Fails("5.17", "twice: continuation (FIN=1), text (FIN=0), continuation (FIN=1)", orphanRule, interleaved2);

        yield return Fails("5.18", "text (FIN=0), then text (FIN=1) instead of a continuation",
            "R6455-5.4-c/5.4-f: a new data frame inside a fragmented message (no extension allows interleaving) fails the connection with 1002.",
            [Frame.Build(Op.Text, f1, fin: false), Frame.Build(Op.Text, f2)]);

        var five = Utf8("fragment1fragment2fragment3fragment4fragment5");
        foreach (var (caseId, chops) in new[] { ("5.19", Chops.OneWrite), ("5.20", Chops.Frames) })
        {
            yield return new ConformanceCase
            {
                Id = caseId,
                Title = $"text in 5 fragments with pings and pauses between them{Suffix(chops)}",
                Description = "Send fragments 1 and 2 and a ping, pause, fragments 3 and 4 and a ping, pause, fragment 5. " +
                              "R6455-5.4-d: pings between fragments are answered as they come (R6455-5.5.2-S1: as soon as practical), " +
                              "the message is echoed whole after them. (Autobahn pauses 1 s; 200 ms keeps the suite fast.)",
                Body = async c =>
                {
                    int chop = 0;
                    var pause = TimeSpan.FromMilliseconds(200);
                    await Write(c, chops, [Frame.Build(Op.Text, f1, fin: false), Frame.Build(Op.Continuation, f2, fin: false), Frame.Build(Op.Ping, Utf8("pongme 1!"))], chop);
                    await c.DelayAsync(pause);
                    await Write(c, chops, [Frame.Build(Op.Continuation, f3, fin: false), Frame.Build(Op.Continuation, f4, fin: false), Frame.Build(Op.Ping, Utf8("pongme 2!"))], chop);
                    await c.DelayAsync(pause);
                    await Write(c, chops, [Frame.Build(Op.Continuation, f5)], chop);
                },
                Expect = Expectation.Echo(Pong(Utf8("pongme 1!")), Pong(Utf8("pongme 2!")), Text(five)),
            };
        }
    }

    private static string Suffix(Chops chops) => chops switch
    {
        Chops.Octets => ", written in 1-byte chops",
        Chops.Frames => ", written frame by frame",
        _ => "",
    };

    private static async Task Write(CaseConnection c, Chops chops, byte[][] frames, int chop = 0)
    {
        switch (chops)
        {
            case Chops.OneWrite:
                await c.SendAsync(Frame.Concat(frames), chop);
                break;
            case Chops.Octets:
                await c.SendAsync(Frame.Concat(frames), chop: 1);
                break;
            default:
                foreach (var frame in frames)
                {
                    await c.SendAsync(frame);
                    await c.DelayAsync(TimeSpan.FromMilliseconds(20));
                }

                break;
        }
    }

    private static ConformanceCase Sends(string id, string title, string rule, Chops chops, byte[][] frames, params ServerEvent[] expected) => new()
    {
        Id = id,
        Title = title,
        Description = $"Send {title}. {rule}",
        Body = c => Write(c, chops, frames),
        Expect = Expectation.Echo(expected),
    };

    private static ConformanceCase Fails(string id, string title, string rule, byte[][] frames, Chops chops = Chops.OneWrite) => new()
    {
        Id = id,
        Title = title,
        Description = $"Send {title}. {rule}",
        Body = c => Write(c, chops, frames),
        Expect = Expectation.Fail(1002),
    };
}
