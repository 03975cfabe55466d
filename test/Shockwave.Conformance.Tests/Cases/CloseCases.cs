using static Shockwave.Conformance.Tests.CaseKit;

namespace Shockwave.Conformance.Tests;

/// <summary>Category 7: the closing handshake, close codes and reasons (RFC 6455 sections 5.5.1, 7 and 7.4).</summary>
internal static class CloseCases
{
    private const string Reply = "R6455-5.5.1-d: the server answers a close with a close (the sample echoes the code), then closes TCP first (R6455-5.5.1-f).";

    public static IEnumerable<ConformanceCase> Cases()
    {
        var hello = Utf8("Hello World!");
        yield return new ConformanceCase
        {
            Id = "7.1.1",
            Title = "text message, then close",
            Description = "Send a text message and a close 1000 back to back. The message is echoed, then the close is answered. " + Reply +
                          " Dropping the echo is allowed (R6455-5.5.1-S1 lets the close wait only for a message already being sent): NON-STRICT.",
            Body = async c =>
            {
                await c.SendTextAsync("Hello World!");
                await c.SendCloseAsync(1000);
            },
            Expect = Expectation.CloseEcho(1000, [Text(hello)], []),
            AcceptNonStrict = "the echo handler had not started sending when the close arrived; the server may answer the close at once",
            VerdictMayVary = "whether the echo precedes the close answer depends on whether the close arrives before the handler sends the echo",
        };
        yield return Closing("7.1.2", "two close frames", "The second close is ignored: after the closing handshake nothing more is processed (R6455-7.1.7-c). " + Reply,
            c => c.SendAsync(Frame.Concat(Frame.Close(1000), Frame.Close(1000))), markClose: true);
        yield return Closing("7.1.3", "close, then ping", "R6455-5.5.2-a: no pong is owed once a close was received. " + Reply,
            c => c.SendAsync(Frame.Concat(Frame.Close(1000), Frame.Build(Op.Ping, Utf8("Hello World!")))), markClose: true);
        yield return Closing("7.1.4", "close, then text message", "After the close, data is not processed (R6455-7.1.7-c) and not echoed. " + Reply,
            c => c.SendAsync(Frame.Concat(Frame.Close(1000), Frame.Build(Op.Text, hello))), markClose: true);
        yield return Closing("7.1.5", "first fragment, close, second fragment",
            "A close may come between the fragments of a message (R6455-5.4-d); the unfinished message is dropped and the last fragment ignored. " + Reply,
            c => c.SendAsync(Frame.Concat(Frame.Build(Op.Text, Utf8("fragment1"), fin: false), Frame.Close(1000), Frame.Build(Op.Continuation, Utf8("fragment2")))), markClose: true);

        var big = Utf8(string.Concat(Enumerable.Repeat("BAsd7&jh23", 26214)));
        yield return new ConformanceCase
        {
            Id = "7.1.6",
            Title = "256 KiB text message, close, ping",
            Description = "Send a 262,140-byte text message, a close and a ping back to back. Whether the echo is sent before the close " +
                          "answer is implementation-defined (R6455-5.5.1-S1: the close MAY wait for a message being sent); no pong is owed " +
                          "after the close (R6455-5.5.2-a). INFORMATIONAL, as in Autobahn.",
            Body = async c =>
            {
                c.Observations.ClientSentClose = true;
                await c.SendAsync(Frame.Concat(Frame.Build(Op.Text, big), Frame.Close(1000), Frame.Build(Op.Ping, Utf8("Hello World!"))));
            },
            Expect = Expectation.Informational(Text(big)),
            AcceptInformational = "RFC 6455 leaves open whether a message still being echoed goes out before the close answer",
        };

        yield return Closing("7.3.1", "close with an empty payload",
            "R6455-5.5.1-a: the body is optional; the answer is a close without code (or 1000, also valid: section 7.4.1). " + Reply,
            c => c.SendCloseAsync(null), code: null, alsoOk: 1000);
        yield return Fails("7.3.2", "close with a 1-byte payload", "R6455-5.5.1-a: a close body starts with a 2-byte code, so 1 byte is a protocol error: 1002.",
            c => c.SendFrameAsync(Op.Close, [0x2A]), 1002);
        yield return Closing("7.3.3", "close with code 1000 only", Reply, c => c.SendCloseAsync(1000));
        yield return Closing("7.3.4", "close with code 1000 and a short reason", Reply, c => c.SendCloseAsync(1000, Utf8("Hello World!")));
        yield return Closing("7.3.5", "close with code 1000 and a 123-byte reason",
            "123 bytes is the longest reason a 125-byte control payload holds (R6455-5.5-a). " + Reply, c => c.SendCloseAsync(1000, Fill(123, (byte)'*')));
        yield return Fails("7.3.6", "close with code 1000 and a 124-byte reason", "The payload is 126 bytes, over the 125-byte control limit (R6455-5.5-a): 1002.",
            c => c.SendAsync(Frame.Build(Op.Close, Frame.ClosePayload(1000, Fill(124, (byte)'*')))), 1002);
        yield return Fails("7.5.1", "close with a reason that is not UTF-8", "R6455-8.1-a: the close reason must be UTF-8 (section 5.5.1); 1007.",
            c => c.SendAsync(Frame.Close(1000, Hex("ce ba e1 bd b9 cf 83 ce bc ce b5 ed a0 80 65 64 69 74 65 64"))), 1007);

        ushort[] valid = [1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 3000, 3999, 4000, 4999, 1012, 1013, 1014];
        for (int i = 0; i < valid.Length; i++)
        {
            ushort code = valid[i];
            yield return Closing($"7.7.{i + 1}", $"close with valid code {code}",
                $"RFC 6455 section 7.4: {code} may be sent on the wire ({(code >= 3000 ? "registered or private use" : code >= 1012 ? "IANA-registered since RFC 6455" : "defined in section 7.4.1")}). " + Reply,
                c => c.SendCloseAsync(code), code: code);
        }

        ushort[] invalid = [0, 999, 1004, 1005, 1006, 1016, 1100, 2000, 2999, 1015];
        for (int i = 0; i < invalid.Length; i++)
        {
            ushort code = invalid[i];
            yield return Fails($"7.9.{i + 1}", $"close with invalid code {code}",
                $"RFC 6455 section 7.4: {code} is {(code < 1000 ? "unused (0-999)" : code is 1005 or 1006 or 1015 ? "reserved and never sent on the wire (R6455-7.4.1-a/b/c)" : "reserved and unassigned")}; receiving it is a protocol error: 1002.",
                c => c.SendCloseAsync(code), 1002);
        }

        yield return Fails("7.13.1", "close with code 5000", "RFC 6455 section 7.4.2 defines codes up to 4999 only; 5000 is invalid, a protocol error: 1002. (Autobahn calls the outcome undefined; the sample's rule, CloseStatusRules, rejects it.)",
            c => c.SendCloseAsync(5000), 1002);
        yield return Fails("7.13.2", "close with code 65535", "RFC 6455 section 7.4.2 defines codes up to 4999 only; 65535 is invalid, a protocol error: 1002.",
            c => c.SendCloseAsync(65535), 1002);
    }

    private static ConformanceCase Closing(string id, string title, string rule, Func<CaseConnection, Task> send, bool markClose = false, ushort? code = 1000, ushort? alsoOk = null) => new()
    {
        Id = id,
        Title = title,
        Description = $"Send a {title}. {rule}",
        Body = async c =>
        {
            // Raw close frames: mark the close as the client's first, so the server's answer is judged as the reply.
            c.Observations.ClientSentClose |= markClose;
            await send(c);
        },
        Expect = Expectation.CloseEcho(code, alsoOk: alsoOk),
    };

    private static ConformanceCase Fails(string id, string title, string rule, Func<CaseConnection, Task> send, ushort code) => new()
    {
        Id = id,
        Title = title,
        Description = $"Send a {title}. {rule}",
        Body = send,
        Expect = Expectation.Fail(code),
    };
}
