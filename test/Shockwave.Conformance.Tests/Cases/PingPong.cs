using static Shockwave.Conformance.Tests.CaseKit;

namespace Shockwave.Conformance.Tests;

/// <summary>Category 2: pings and pongs (RFC 6455 sections 5.5.2 and 5.5.3).</summary>
internal static class PingPong
{
    private const string PongRule = "R6455-5.5.2-a: every ping is answered with a pong; R6455-5.5.3-a: carrying exactly the ping's data.";

    public static IEnumerable<ConformanceCase> Cases()
    {
        var small = Utf8("Hello, world!");
        var binary = Hex("00 FF FE FD FC FB 00 FF");
        var max = Fill(125, 0xFE);
        var tooLong = Fill(126, 0xFE);

        yield return Ping("2.1", "ping without payload", [], PongRule);
        yield return Ping("2.2", "ping with a small text payload", small, PongRule);
        yield return Ping("2.3", "ping with a small binary payload", binary, PongRule);
        yield return Ping("2.4", "ping with a 125-byte payload", max, PongRule + " 125 bytes is the largest control payload (R6455-5.5-a).");
        yield return new ConformanceCase
        {
            Id = "2.5",
            Title = "ping with a 126-byte payload",
            Description = "Send a ping whose payload is 126 bytes (16-bit length form). R6455-5.5-a: control payloads are at most 125 bytes, " +
                          "so the server fails the connection (R6455-7.1.7-b) with 1002 (protocol error, section 7.4.1), sending no pong.",
            Body = c => c.SendFrameAsync(Op.Ping, tooLong),
            Expect = Expectation.Fail(1002),
        };
        yield return new ConformanceCase
        {
            Id = "2.6",
            Title = "ping with a 125-byte payload, written in 1-byte chops",
            Description = "Send a ping with a 125-byte payload, one byte per write with a 1 ms pause. " + PongRule +
                          " The split must not matter (R6455-6.2-a).",
            Body = c => c.SendFrameAsync(Op.Ping, max, chop: 1, delay: TimeSpan.FromMilliseconds(1)),
            Expect = Expectation.Echo(Pong(max)),
            TimingSensitive = true,
        };
        yield return new ConformanceCase
        {
            Id = "2.7",
            Title = "unsolicited pong without payload",
            Description = "Send a pong nobody asked for. RFC 6455 section 5.5.3: an unsolicited pong is allowed (a unidirectional " +
                          "heartbeat) and expects no response; the connection continues and closes normally.",
            Body = c => c.SendFrameAsync(Op.Pong, []),
            Expect = Expectation.Echo(),
        };
        yield return new ConformanceCase
        {
            Id = "2.8",
            Title = "unsolicited pong with payload",
            Description = "Send an unsolicited pong with a payload. RFC 6455 section 5.5.3: no response is expected.",
            Body = c => c.SendFrameAsync(Op.Pong, Utf8("unsolicited pong payload")),
            Expect = Expectation.Echo(),
        };
        yield return new ConformanceCase
        {
            Id = "2.9",
            Title = "unsolicited pong, then ping",
            Description = "Send an unsolicited pong, then a ping. Only the ping is answered, with its own payload (R6455-5.5.2-a, 5.5.3-a).",
            Body = async c =>
            {
                await c.SendFrameAsync(Op.Pong, Utf8("unsolicited pong payload"));
                await c.SendFrameAsync(Op.Ping, Utf8("ping payload"));
            },
            Expect = Expectation.Echo(Pong(Utf8("ping payload"))),
        };

        var pings = Enumerable.Range(0, 10).Select(i => Utf8($"payload-{i}")).ToArray();
        const string Last = "RFC 6455 section 5.5.3 lets an endpoint that received several pings before answering answer only the most " +
                            "recent one; Autobahn counts that as NON-STRICT, and it is acceptable.";
        yield return new ConformanceCase
        {
            Id = "2.10",
            Title = "10 pings",
            Description = "Send 10 pings back to back, each with its own payload. " + PongRule + " " + Last,
            Body = async c =>
            {
                foreach (var p in pings)
                {
                    await c.SendFrameAsync(Op.Ping, p);
                }
            },
            Expect = Expectation.EchoOr([.. pings.Select(Pong)], [Pong(pings[^1])]),
            AcceptNonStrict = Last,
        };
        yield return new ConformanceCase
        {
            Id = "2.11",
            Title = "10 pings, written in 1-byte chops",
            Description = "Send 10 pings, every frame one byte per write with 1 ms pauses. " + PongRule + " " + Last,
            Body = async c =>
            {
                foreach (var p in pings)
                {
                    await c.SendFrameAsync(Op.Ping, p, chop: 1, delay: TimeSpan.FromMilliseconds(1));
                }
            },
            Expect = Expectation.EchoOr([.. pings.Select(Pong)], [Pong(pings[^1])]),
            AcceptNonStrict = Last,
            TimingSensitive = true,
        };
    }

    private static ConformanceCase Ping(string id, string title, byte[] payload, string rule) => new()
    {
        Id = id,
        Title = title,
        Description = $"Send a {title}. {rule}",
        Body = c => c.SendFrameAsync(Op.Ping, payload),
        Expect = Expectation.Echo(Pong(payload)),
    };
}
