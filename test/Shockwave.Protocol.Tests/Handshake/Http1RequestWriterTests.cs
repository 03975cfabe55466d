using System.Buffers;
using System.Text;
using Shockwave.Protocol.Compression;
using Shockwave.Protocol.Handshake;

namespace Shockwave.Protocol.Tests.Handshake;

public class Http1RequestWriterTests
{
    private const string RfcKey = "dGhlIHNhbXBsZSBub25jZQ==";

    // R6455-4.1-o, p, q, r, s, t, u, y, z: the minimal request, byte for byte.
    [Fact]
    public void WriteUpgradeRequest_Minimal_ExactBytes()
    {
        var text = Write(Request("ws://server.example.com/chat?room=1"));
        Assert.Equal(
            "GET /chat?room=1 HTTP/1.1\r\n" +
            "Host: server.example.com\r\n" +
            "Upgrade: websocket\r\n" +
            "Connection: Upgrade\r\n" +
            "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n" +
            "Sec-WebSocket-Version: 13\r\n" +
            "\r\n",
            text);
    }

    // Every optional field, in order, after the handshake's own; subprotocols on one line.
    [Fact]
    public void WriteUpgradeRequest_AllOptionalFields_ExactBytes()
    {
        var request = Request("wss://example.com:8443/") with
        {
            Origin = "https://example.com",
            SubProtocols = ["chat", "superchat"],
            Extensions = "permessage-deflate; client_max_window_bits",
            Headers = [new("Authorization", "Bearer abc.def"), new("Cookie", "a=1; b=2"), new("X-Tab", "a\tb")],
        };

        Assert.Equal(
            "GET / HTTP/1.1\r\n" +
            "Host: example.com:8443\r\n" +
            "Upgrade: websocket\r\n" +
            "Connection: Upgrade\r\n" +
            "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n" +
            "Sec-WebSocket-Version: 13\r\n" +
            "Origin: https://example.com\r\n" +
            "Sec-WebSocket-Protocol: chat, superchat\r\n" +
            "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n" +
            "Authorization: Bearer abc.def\r\n" +
            "Cookie: a=1; b=2\r\n" +
            "X-Tab: a\tb\r\n" +
            "\r\n",
            Write(request));
    }

    // R6455-4.1-r: the port only when it is not the scheme's default; R6455-4.1-h: host built per section 3.
    [Theory]
    [InlineData("ws://h", "h")]
    [InlineData("ws://h:80/", "h")]
    [InlineData("ws://h:443/", "h:443")]
    [InlineData("ws://h:8080/", "h:8080")]
    [InlineData("wss://h", "h")]
    [InlineData("wss://h:443/", "h")]
    [InlineData("wss://h:80/", "h:80")]
    [InlineData("ws://h:65535/", "h:65535")]
    [InlineData("WS://H.Example.COM/", "h.example.com")]
    [InlineData("ws://127.0.0.1:9000/", "127.0.0.1:9000")]
    [InlineData("ws://[::1]:9000/", "[::1]:9000")]
    [InlineData("wss://[::1]/", "[::1]")]
    [InlineData("ws://[fe80::1%25eth0]/", "[fe80::1]")] // the zone means nothing to the server (RFC 6874 section 4)
    [InlineData("ws://b\u00fccher.example/", "xn--bcher-kva.example")] // IDN in its ASCII form
    public void WriteUpgradeRequest_Uri_HostHeader(string uri, string host)
    {
        var head = Parse(Write(Request(uri)));
        Assert.Equal(host, head.Headers.GetFirstValue("Host"));
        Assert.Equal(1, head.Headers.GetCount("Host"));
    }

    // R6455-4.1-q: the resource name, path and query, in origin form; R6455-4.1-h.
    [Theory]
    [InlineData("ws://h", "/")]
    [InlineData("ws://h?q", "/?q")]
    [InlineData("ws://h/chat?room=1&x=%20", "/chat?room=1&x=%20")]
    [InlineData("ws://h/a%23b", "/a%23b")] // an escaped '#' is part of the path, not a fragment
    [InlineData("ws://h/\u00e4 \u00f6?q=\u00fc", "/%C3%A4%20%C3%B6?q=%C3%BC")]
    public void WriteUpgradeRequest_Uri_RequestTarget(string uri, string target)
    {
        var head = Parse(Write(Request(uri)));
        Assert.Equal("GET", head.Method);
        Assert.Equal(Http1Version.Http11, head.Version);
        Assert.Equal(target, head.Target);
    }

    // The server side accepts what the client side writes: every header read back by the request parser, judged valid by
    // the validator (R6455-4.2.1-a1..a6), and the offers understood by the subprotocol and deflate negotiation.
    [Fact]
    public void WriteUpgradeRequest_ReadBackByServer_ValidWithEveryHeader()
    {
        string key = WebSocketAccept.CreateClientKey();
        var request = new WebSocketClientRequest
        {
            Uri = new Uri("wss://chat.example.com/socket?v=2"),
            Key = key,
            Origin = "https://app.example.com",
            SubProtocols = ["v2.chat", "v1.chat"],
            Extensions = "permessage-deflate; client_max_window_bits; server_max_window_bits=10",
            Headers = [new("User-Agent", "Shockwave/1.0")],
        };

        var head = Parse(Write(request));

        Assert.True(WebSocketRequestValidator.Validate(head.ToWebSocketRequestHead()).IsValid);
        Assert.Equal("/socket", head.Path);
        Assert.Equal("?v=2", head.Query);
        Assert.Equal("chat.example.com", head.Headers.GetFirstValue("Host")); // R6455-4.1-r
        Assert.True(HeaderTokens.ContainsToken(head.Headers.GetCombinedValue("Upgrade"), "websocket")); // R6455-4.1-s
        Assert.True(HeaderTokens.ContainsToken(head.Headers.GetCombinedValue("Connection"), "Upgrade")); // R6455-4.1-t
        Assert.Equal(key, head.Headers.GetFirstValue("Sec-WebSocket-Key")); // R6455-4.1-u
        Assert.Equal(16, Convert.FromBase64String(head.Headers.GetFirstValue("Sec-WebSocket-Key")!).Length); // R6455-4.1-v
        Assert.Equal("13", head.Headers.GetFirstValue("Sec-WebSocket-Version")); // R6455-4.1-y, z
        Assert.Equal("https://app.example.com", head.Headers.GetFirstValue("Origin")); // R6455-4.1-x
        Assert.Equal("Shockwave/1.0", head.Headers.GetFirstValue("User-Agent"));

        // R6455-4.1-aa: the offered list reaches the server intact; it picks by its own preference.
        Assert.Equal("v1.chat", SubProtocols.Select(head.Headers.GetCombinedValue("Sec-WebSocket-Protocol"), ["v1.chat"]));

        // R7692-5-a: the offer names the extension and the server's negotiator accepts it.
        var deflate = new PerMessageDeflateNegotiator(new PerMessageDeflateOptions { Enabled = true })
            .Negotiate(head.Headers.GetFirstValue("Sec-WebSocket-Extensions"));
        Assert.True(deflate.IsAccepted);
        Assert.Equal(10, deflate.Parameters.ServerMaxWindowBits);

        // R6455-11.3-a, b: one key, one version.
        Assert.Equal(1, head.Headers.GetCount("Sec-WebSocket-Key"));
        Assert.Equal(1, head.Headers.GetCount("Sec-WebSocket-Version"));
    }

    // R6455-4.1-b, R6455-4.1-c: a URI that is not a valid ws/wss URI is refused before anything is written.
    [Theory]
    [InlineData("http://h/")]
    [InlineData("https://h/")]
    [InlineData("ftp://h/")]
    [InlineData("ws://h/#")]
    [InlineData("ws://h/#fragment")]
    [InlineData("wss://h/path?q#f")]
    [InlineData("ws://user:secret@h/")]
    [InlineData("ws://user@h/")]
    [InlineData("ws://h:0/")]
    [InlineData("ws://-x-/")] // not a DNS name
    public void WriteUpgradeRequest_InvalidUri_ThrowsAndWritesNothing(string uri) => AssertRefused(Request(uri));

    [Fact]
    public void WriteUpgradeRequest_RelativeUri_Throws() =>
        AssertRefused(Request("ws://h/") with { Uri = new Uri("/chat", UriKind.Relative) });

    // R6455-4.1-v: only a 24-character base64 encoding of 16 bytes is sent.
    [Theory]
    [InlineData("")]
    [InlineData("AAAAAAAAAAAAAAAAAAAA")]
    [InlineData(" dGhlIHNhbXBsZSBub25jZQ==")]
    [InlineData("dGhlIHNhbXBsZSBub25jZQ==\r\nX: 1")]
    [InlineData("dGhlIHNhbXBsZSBub25jZQ")]
    [InlineData("dGhlIHNhbXBsZSBub25jZQ-_")]
    public void WriteUpgradeRequest_InvalidKey_ThrowsAndWritesNothing(string key) => AssertRefused(Request("ws://h/") with { Key = key });

    // R6455-4.1-aa: each offered name is non-empty, made of U+0021..U+007E without separators, and unique.
    public static TheoryData<string?[]> InvalidSubProtocols => new()
    {
        new[] { "" },
        new[] { "a b" },
        new[] { "a,b" },
        new[] { "chat", "chat" },
        new[] { "chat", "v2", "chat" },
        new[] { "a;b" },
        new[] { "\"chat\"" },
        new[] { "ch\u00e4t" },
        new[] { "chat\r\nX-Injected: 1" },
        new[] { "chat", null },
    };

    [Theory]
    [MemberData(nameof(InvalidSubProtocols))]
    public void WriteUpgradeRequest_InvalidSubProtocols_ThrowsAndWritesNothing(string?[] names) =>
        AssertRefused(Request("ws://h/") with { SubProtocols = names! });

    // Names compare case-sensitively, as the server compares them, so these are two names.
    [Fact]
    public void WriteUpgradeRequest_SubProtocolsDifferingInCase_Written()
    {
        var head = Parse(Write(Request("ws://h/") with { SubProtocols = ["chat", "Chat", "!#$%&'*+-.^_`|~"] }));
        Assert.Equal("chat, Chat, !#$%&'*+-.^_`|~", head.Headers.GetFirstValue("Sec-WebSocket-Protocol"));
    }

    // Header injection: no name or value can end a line, add a field, or repeat one the handshake owns.
    [Theory]
    [InlineData("X-A", "a\r\nX-Injected: 1")]
    [InlineData("X-A", "a\nb")]
    [InlineData("X-A", "a\rb")]
    [InlineData("X-A", "a\u0000b")]
    [InlineData("X-A", "a\u007fb")]
    [InlineData("X-A", "caf\u00e9")]
    [InlineData("X-A\r\nX-Injected", "1")]
    [InlineData("X A", "1")]
    [InlineData("X:A", "1")]
    [InlineData("", "1")]
    [InlineData("host", "evil.example")]
    [InlineData("Upgrade", "h2c")]
    [InlineData("CONNECTION", "close")]
    [InlineData("Sec-WebSocket-Key", RfcKey)]
    [InlineData("Sec-WebSocket-Version", "8")]
    [InlineData("Sec-WebSocket-Protocol", "chat")]
    [InlineData("Sec-WebSocket-Extensions", "permessage-deflate")]
    [InlineData("Origin", "https://evil.example")]
    [InlineData("Content-Length", "5")]
    [InlineData("Transfer-Encoding", "chunked")]
    public void WriteUpgradeRequest_InvalidHeader_ThrowsAndWritesNothing(string name, string value) =>
        AssertRefused(Request("ws://h/") with { Headers = [new("X-Fine", "ok"), new(name, value)] });

    [Theory]
    [InlineData("")]
    [InlineData(" https://a.example")]
    [InlineData("https://a.example\r\nX-Injected: 1")]
    [InlineData("https://b\u00fccher.example")]
    public void WriteUpgradeRequest_InvalidOrigin_ThrowsAndWritesNothing(string origin) =>
        AssertRefused(Request("ws://h/") with { Origin = origin });

    // R6455-9.1-a: the offer must follow the Sec-WebSocket-Extensions grammar, or the server answers 400.
    [Theory]
    [InlineData("")]
    [InlineData(", ,")]
    [InlineData("permessage-deflate; client_max_window_bits=\"1 0\"")]
    [InlineData("permessage-deflate x")]
    [InlineData("permessage-deflate\r\nX-Injected: 1")]
    [InlineData("permessage-deflate; ")]
    public void WriteUpgradeRequest_InvalidExtensions_ThrowsAndWritesNothing(string extensions) =>
        AssertRefused(Request("ws://h/") with { Extensions = extensions });

    [Fact]
    public void WriteUpgradeRequest_NullCollections_Throw()
    {
        AssertRefused(Request("ws://h/") with { SubProtocols = null! });
        AssertRefused(Request("ws://h/") with { Headers = null! });
    }

    // Logging a request must not leak the key or credentials in headers.
    [Fact]
    public void ToString_ShowsUriOnly()
    {
        var request = Request("wss://h/chat") with { Headers = [new("Authorization", "Bearer secret")], Origin = "https://o.example" };
        Assert.Equal("WebSocketClientRequest { Uri = wss://h/chat }", request.ToString());
    }

    // R6455-4.1-c: Validate lets a client refuse a bad URI before it opens any connection.
    [Fact]
    public void Validate_ValidRequest_DoesNotThrow_InvalidUri_Throws()
    {
        Request("wss://h/").Validate();
        Assert.Throws<ArgumentException>(() => Request("http://h/").Validate());
    }

    internal static WebSocketClientRequest Request(string uri) => new() { Uri = new Uri(uri), Key = RfcKey };

    internal static string Write(WebSocketClientRequest request)
    {
        var writer = new ArrayBufferWriter<byte>();
        Http1RequestWriter.WriteUpgradeRequest(writer, request);
        return Encoding.ASCII.GetString(writer.WrittenSpan);
    }

    private static Http1RequestHead Parse(string text)
    {
        var buffer = new ReadOnlySequence<byte>(Encoding.ASCII.GetBytes(text));
        Assert.Equal(Http1ParseStatus.Done, new Http1RequestHeadParser().TryParse(ref buffer, out var head, out var error));
        Assert.Equal(Http1HeadError.None, error);
        Assert.Equal(0, buffer.Length);
        return head!;
    }

    private static void AssertRefused(WebSocketClientRequest request)
    {
        var writer = new ArrayBufferWriter<byte>();
        Assert.Throws<ArgumentException>(() => Http1RequestWriter.WriteUpgradeRequest(writer, request));
        Assert.Equal(0, writer.WrittenCount);
    }
}
