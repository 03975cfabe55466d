using System.Security.Cryptography;
using System.Text;

namespace Shockwave.Conformance.Tests;

/// <summary>Category H (beyond Autobahn): the opening handshake (RFC 6455 sections 4.2.1, 4.2.2, 4.4, 11.3; RFC 7692 section 7).</summary>
internal static class HandshakeCases
{
    private static readonly int[] Rejected = [400];

    public static IEnumerable<ConformanceCase> Cases()
    {
        int n = 1;
        ConformanceCase Make(string title, string rule, Func<CaseConnection, string, string> request, int[] statuses,
            Func<HandshakeResponse, string?>? check = null, string path = "/echo", string? extensions = null, int split = 0) => new()
        {
            Id = $"H.{n++}",
            Title = title,
            Description = $"Opening handshake: {title}. {rule}",
            Open = false,
            Path = path,
            Body = async c =>
            {
                string key = Convert.ToBase64String(RandomNumberGenerator.GetBytes(16));
                if (statuses.Contains(101))
                {
                    c.ExpectUpgrade(key, extensions);
                }

                var bytes = Encoding.ASCII.GetBytes(request(c, key));
                if (split > 0)
                {
                    // Two writes with a pause, the cut inside a header line: the parser must wait for the rest.
                    await c.SendRequestAsync(bytes[..split]);
                    await Task.Delay(100);
                    await c.SendRequestAsync(bytes[split..]);
                }
                else
                {
                    await c.SendRequestAsync(bytes);
                }
            },
            Expect = Expectation.Handshake(statuses, check),
        };

        string Standard(CaseConnection c, string key) => c.BuildRequest("/echo", key: key);

        string Replace(CaseConnection c, string key, string from, string? to, string path = "/echo", string? extensions = null)
        {
            var request = c.BuildRequest(path, extensions, key: key);
            var line = request.Split("\r\n").First(l => l.StartsWith(from, StringComparison.Ordinal));
            return to is null ? request.Replace(line + "\r\n", "", StringComparison.Ordinal) : request.Replace(line, to, StringComparison.Ordinal);
        }

        yield return Make("valid request", "R6455-4.2.2-j1..j4: 101 with Upgrade, Connection and the right Sec-WebSocket-Accept, once (R6455-11.3-d); no extension or subprotocol header when none was offered (R6455-4.2.2-g/i).",
            Standard, [101]);
        yield return Make("Upgrade: WebSocket (mixed case)", "R6455-4.2.1-a3: the token compares case-insensitively.",
            (c, k) => Replace(c, k, "Upgrade:", "Upgrade: WebSocket"), [101]);
        yield return Make("Connection: keep-alive, Upgrade", "R6455-4.2.1-a4: Upgrade is one token of a list.",
            (c, k) => Replace(c, k, "Connection:", "Connection: keep-alive, Upgrade"), [101]);
        yield return Make("Connection: keep-alive,upgrade (no space, lower case)", "R6455-4.2.1-a4: list parsing ignores case and optional whitespace.",
            (c, k) => Replace(c, k, "Connection:", "Connection: keep-alive,upgrade"), [101]);
        yield return Make("Upgrade: foo/1, websocket", "R6455-4.2.1-a3: websocket is one token of a list.",
            (c, k) => Replace(c, k, "Upgrade:", "Upgrade: foo/1, websocket"), [101]);
        yield return Make("lower-case header names", "RFC 9110 section 5.1: field names are case-insensitive.",
            (c, k) => Standard(c, k).Replace("Upgrade: websocket", "upgrade: websocket", StringComparison.Ordinal).Replace("Sec-WebSocket-Key:", "sec-websocket-key:", StringComparison.Ordinal)
                .Replace("Sec-WebSocket-Version:", "sec-websocket-version:", StringComparison.Ordinal), [101]);
        yield return Make("Origin from another site", "The sample accepts any Origin (design contract); R6455-10.2-S1 makes origin checks a policy, not a rule.",
            (c, k) => Replace(c, k, "Sec-WebSocket-Version:", "Sec-WebSocket-Version: 13\r\nOrigin: http://elsewhere.example"), [101]);
        yield return Make("a subprotocol offered that the server does not support", "R6455-4.2.2-g: with no agreed subprotocol the response has no Sec-WebSocket-Protocol header.",
            (c, k) => Replace(c, k, "Sec-WebSocket-Version:", "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: chat, superchat"), [101]);
        yield return Make("permessage-deflate offered to /echo (compression off)", "R6455-4.2.2-i: never accept an extension the server does not use; no Sec-WebSocket-Extensions in the 101.",
            (c, k) => Replace(c, k, "Sec-WebSocket-Version:", "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Extensions: permessage-deflate"), [101],
            r => r.Count("Sec-WebSocket-Extensions") == 0 ? null : "extension accepted on /echo");
        yield return Make("absolute-form request URI", "R6455-4.2.1-a1: the Request-URI may be an absolute http URI naming the resource.",
            (c, k) => Standard(c, k).Replace("GET /echo ", $"GET http://{c.Server.Authority}/echo ", StringComparison.Ordinal), [101]);
        yield return Make("key with surrounding whitespace", "RFC 9112 section 5: optional whitespace around a field value is not part of it; the key is still 16 bytes (R6455-4.2.1-a5).",
            (c, k) => Replace(c, k, "Sec-WebSocket-Key:", $"Sec-WebSocket-Key:    {k}   "), [101]);
        yield return Make("request split inside a header line", "RFC 9112: a request head may arrive in any number of segments; the upgrade must not depend on it.",
            Standard, [101], split: 30);
        yield return Make("missing Upgrade header", "R6455-4.2.1-a3 / R6455-4.2.1-a: not a WebSocket request; no 101.",
            (c, k) => Replace(c, k, "Upgrade:", null), [400, 426]);
        yield return Make("Upgrade: h2c", "R6455-4.2.1-a3: websocket is missing from Upgrade; HTTP error, no 101.",
            (c, k) => Replace(c, k, "Upgrade:", "Upgrade: h2c"), [400, 426]);
        yield return Make("missing Connection header", "R6455-4.2.1-a4: Connection must include Upgrade; HTTP error, no 101.",
            (c, k) => Replace(c, k, "Connection:", null), [400, 426]);
        yield return Make("Connection: close", "R6455-4.2.1-a4: Connection must include Upgrade; HTTP error, no 101.",
            (c, k) => Replace(c, k, "Connection:", "Connection: close"), [400, 426]);
        yield return Make("missing Sec-WebSocket-Key", "R6455-4.2.1-a5: 400.", (c, k) => Replace(c, k, "Sec-WebSocket-Key:", null), Rejected);
        yield return Make("key of 15 bytes", "R6455-4.2.1-a5: the key must decode to exactly 16 bytes; 400.",
            (c, k) => Replace(c, k, "Sec-WebSocket-Key:", "Sec-WebSocket-Key: " + Convert.ToBase64String(new byte[15])), Rejected);
        yield return Make("key of 17 bytes", "R6455-4.2.1-a5: the key must decode to exactly 16 bytes; 400.",
            (c, k) => Replace(c, k, "Sec-WebSocket-Key:", "Sec-WebSocket-Key: " + Convert.ToBase64String(new byte[17])), Rejected);
        yield return Make("key that is not base64", "R6455-4.2.1-a5: 400.",
            (c, k) => Replace(c, k, "Sec-WebSocket-Key:", "Sec-WebSocket-Key: !!!!not-base64!!!!!!!!=="), Rejected);
        yield return Make("empty key", "R6455-4.2.1-a5: 400.", (c, k) => Replace(c, k, "Sec-WebSocket-Key:", "Sec-WebSocket-Key: "), Rejected);
        yield return Make("two Sec-WebSocket-Key headers", "R6455-11.3-a: the key appears at most once; 400.",
            (c, k) => Replace(c, k, "Sec-WebSocket-Key:", $"Sec-WebSocket-Key: {k}\r\nSec-WebSocket-Key: {Convert.ToBase64String(new byte[16])}"), Rejected);
        string? Advertises13(HandshakeResponse r) => r.Values("Sec-WebSocket-Version").Any(v => v.Split(',').Any(t => t.Trim() == "13"))
            ? null : "426 without Sec-WebSocket-Version: 13 (R6455-4.4-a)";
        yield return Make("Sec-WebSocket-Version: 8", "R6455-4.2.2-d / 4.4-a: unsupported version: 426 listing 13.",
            (c, k) => Replace(c, k, "Sec-WebSocket-Version:", "Sec-WebSocket-Version: 8"), [426], Advertises13);
        yield return Make("Sec-WebSocket-Version: 25", "R6455-4.2.2-d / 4.4-a: unsupported version: 426 listing 13.",
            (c, k) => Replace(c, k, "Sec-WebSocket-Version:", "Sec-WebSocket-Version: 25"), [426], Advertises13);
        yield return Make("missing Sec-WebSocket-Version", "R6455-4.2.1-a6: 400.", (c, k) => Replace(c, k, "Sec-WebSocket-Version:", null), Rejected);
        yield return Make("two Sec-WebSocket-Version headers", "R6455-11.3-b: the version appears at most once; 400.",
            (c, k) => Replace(c, k, "Sec-WebSocket-Version:", "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Version: 13"), Rejected);
        yield return Make("POST instead of GET", "R6455-4.2.1-a1: the method must be GET; 405 (or 400).",
            (c, k) => Standard(c, k).Replace("GET ", "POST ", StringComparison.Ordinal).Replace("\r\n\r\n", "\r\nContent-Length: 0\r\n\r\n", StringComparison.Ordinal), [400, 405]);
        yield return Make("lower-case method 'get'", "R6455-4.2.1-a1 with RFC 9110 section 9.1: methods are case-sensitive, so 'get' is not GET.",
            (c, k) => Standard(c, k).Replace("GET ", "get ", StringComparison.Ordinal), [400, 405]);
        yield return Make("HTTP/1.0", "R6455-4.2.1-a1: HTTP/1.1 or later; an HTTP/1.0 request is not upgraded.",
            (c, k) => Standard(c, k).Replace("HTTP/1.1", "HTTP/1.0", StringComparison.Ordinal), [400, 426, 505]);
        yield return Make("missing Host", "R6455-4.2.1-a2 (and RFC 9112 section 3.2): 400.", (c, k) => Replace(c, k, "Host:", null), Rejected);
        yield return Make("two Host headers", "RFC 9112 section 3.2: a repeated Host is a 400.",
            (c, k) => Replace(c, k, "Host:", $"Host: {c.Server.Authority}\r\nHost: {c.Server.Authority}"), Rejected);
        yield return Make("unknown path", "R6455-4.2.2-e: the resource is not available: 404.",
            (c, k) => Standard(c, k).Replace("GET /echo ", "GET /no-such-endpoint ", StringComparison.Ordinal), [404]);
        yield return Make("a 40 KiB header value", "R6455-10.4-S1 applied to the head: oversized request heads are refused (431, RFC 6585 section 5), never upgraded.",
            (c, k) => Replace(c, k, "Sec-WebSocket-Version:", "Sec-WebSocket-Version: 13\r\nX-Padding: " + new string('a', 40 * 1024)), [431, 400]);
        yield return Make("200 headers", "Kestrel's limit is 100 request headers: refused with 431 (RFC 6585 section 5), never upgraded.",
            (c, k) => Replace(c, k, "Sec-WebSocket-Version:", "Sec-WebSocket-Version: 13" + string.Concat(Enumerable.Range(0, 200).Select(i => $"\r\nX-H{i}: v"))), [431, 400]);

        const string Deflate = "/echo-deflate";
        string WithExtensions(CaseConnection c, string key, string extensions) => c.BuildRequest(Deflate, extensions, key: key);
        string? NoExtension(HandshakeResponse r) => r.Count("Sec-WebSocket-Extensions") == 0 ? null : $"accepted: {r.Single("Sec-WebSocket-Extensions")}";
        yield return Make("permessage-deflate with an unknown parameter", "R7692-7-a1: an offer with an undefined parameter is declined (no extension in the 101).",
            (c, k) => WithExtensions(c, k, "permessage-deflate; foo"), [101], NoExtension, Deflate, "permessage-deflate; foo");
        yield return Make("permessage-deflate with server_max_window_bits=16", "R7692-7-a2: an invalid value declines the offer.",
            (c, k) => WithExtensions(c, k, "permessage-deflate; server_max_window_bits=16"), [101], NoExtension, Deflate, "permessage-deflate; server_max_window_bits=16");
        yield return Make("permessage-deflate with server_max_window_bits=08", "R7692-7.1.2.1-a: no leading zeros; the offer is declined (R7692-7-a2).",
            (c, k) => WithExtensions(c, k, "permessage-deflate; server_max_window_bits=08"), [101], NoExtension, Deflate, "permessage-deflate; server_max_window_bits=08");
        yield return Make("permessage-deflate with client_max_window_bits=7", "R7692-7.1.2.2-a: 8..15 only; declined (R7692-7-a2).",
            (c, k) => WithExtensions(c, k, "permessage-deflate; client_max_window_bits=7"), [101], NoExtension, Deflate, "permessage-deflate; client_max_window_bits=7");
        yield return Make("permessage-deflate with server_no_context_takeover=1", "R7692-7-a2: the no-context-takeover parameters take no value; declined.",
            (c, k) => WithExtensions(c, k, "permessage-deflate; server_no_context_takeover=1"), [101], NoExtension, Deflate, "permessage-deflate; server_no_context_takeover=1");
        yield return Make("permessage-deflate with a repeated parameter", "R7692-7-a3: a repeated parameter declines the offer.",
            (c, k) => WithExtensions(c, k, "permessage-deflate; client_max_window_bits; client_max_window_bits"), [101], NoExtension, Deflate, "permessage-deflate; client_max_window_bits; client_max_window_bits");
        string? Deflated(HandshakeResponse r) => r.Single("Sec-WebSocket-Extensions") is { } e && e.StartsWith("permessage-deflate", StringComparison.Ordinal) ? null : "permessage-deflate not accepted";
        yield return Make("an unknown extension, then permessage-deflate", "R6455-4.2.2-h/i: the server picks from the offers, ignoring the one it does not know.",
            (c, k) => WithExtensions(c, k, "x-unknown-extension, permessage-deflate"), [101], Deflated, Deflate, "x-unknown-extension, permessage-deflate");
        yield return Make("a declined offer, then a plain one", "R7692-7-a1: an offer that is declined lets the next one be considered.",
            (c, k) => WithExtensions(c, k, "permessage-deflate; foo=bar, permessage-deflate"), [101], Deflated, Deflate, "permessage-deflate; foo=bar, permessage-deflate");
        yield return Make("offers split across two Sec-WebSocket-Extensions lines", "RFC 9110 section 5.3: repeated list fields combine in order; the offer in the second line is accepted.",
            (c, k) => Replace(c, k, "Sec-WebSocket-Version:", "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Extensions: x-unknown\r\nSec-WebSocket-Extensions: permessage-deflate", Deflate),
            [101], Deflated, Deflate, "x-unknown, permessage-deflate");
        yield return Make("quoted parameter value client_max_window_bits=\"10\"", "R6455-4.3-a: a quoted-string value is the token it contains; the offer is valid.",
            (c, k) => WithExtensions(c, k, "permessage-deflate; client_max_window_bits=\"10\""), [101], Deflated, Deflate, "permessage-deflate; client_max_window_bits=10");
        yield return Make("bare client_max_window_bits", "R7692-7.1.2.2-b: if the response names client_max_window_bits it carries a value (checked by the client reader).",
            (c, k) => WithExtensions(c, k, "permessage-deflate; client_max_window_bits"), [101], Deflated, Deflate, "permessage-deflate; client_max_window_bits");
    }
}
