using System.Buffers;
using System.Text;
using Shockwave.Protocol.Handshake;

namespace Shockwave.Protocol.Tests.Handshake;

public class Http1RequestHeadParserTests
{
    // RFC 6455 section 1.3's sample handshake, plus the headers a browser adds.
    private const string RfcRequest =
        "GET /chat?room=1 HTTP/1.1\r\n" +
        "Host: server.example.com\r\n" +
        "Upgrade: websocket\r\n" +
        "Connection: keep-alive, Upgrade\r\n" +
        "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n" +
        "Origin: http://example.com\r\n" +
        "Sec-WebSocket-Protocol: chat, superchat\r\n" +
        "Sec-WebSocket-Version: 13\r\n" +
        "\r\n";

    [Fact]
    public void TryParse_RfcRequest_ParsesEveryPart()
    {
        var buffer = new ReadOnlySequence<byte>(Latin1(RfcRequest));
        var status = new Http1RequestHeadParser().TryParse(ref buffer, out var head, out var error);

        Assert.Equal(Http1ParseStatus.Done, status);
        Assert.Equal(Http1HeadError.None, error);
        Assert.NotNull(head);
        Assert.Equal("GET", head.Method);
        Assert.Equal("/chat?room=1", head.Target);
        Assert.Equal("/chat", head.Path);
        Assert.Equal("?room=1", head.Query);
        Assert.Equal(Http1Version.Http11, head.Version);
        Assert.Equal(7, head.Headers.Count);
        Assert.Equal(new KeyValuePair<string, string>("Host", "server.example.com"), head.Headers[0]);
        Assert.Equal("chat, superchat", head.Headers.GetFirstValue("sec-websocket-protocol"));
        Assert.Equal(0, buffer.Length);
    }

    // The parsed head feeds the shared validator (R6455-4.2.1-a1 to a6).
    [Fact]
    public void ToWebSocketRequestHead_RfcRequest_Validates()
    {
        var head = ParseWhole(RfcRequest);
        var request = head.ToWebSocketRequestHead();
        Assert.Equal("GET", request.Method);
        Assert.True(request.IsHttp11OrLater);
        Assert.Equal(1, request.HostCount);
        Assert.Equal("websocket", request.Upgrade);
        Assert.Equal("keep-alive, Upgrade", request.Connection);
        Assert.Equal(1, request.KeyCount);
        Assert.Equal("dGhlIHNhbXBsZSBub25jZQ==", request.Key);
        Assert.Equal(1, request.VersionCount);
        Assert.Equal("13", request.Version);
        Assert.True(WebSocketRequestValidator.Validate(request).IsValid);
    }

    // R6455-11.3-a / R6455-11.3-b: repeated lines are kept, so the validator sees the duplicate.
    [Theory]
    [InlineData("Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n", HandshakeFailure.DuplicateKey)]
    [InlineData("sec-websocket-version: 13\r\n", HandshakeFailure.DuplicateVersion)]
    [InlineData("HOST: other\r\n", HandshakeFailure.DuplicateHost)]
    public void ToWebSocketRequestHead_RepeatedHeader_ValidatorRefuses(string extraLine, HandshakeFailure failure)
    {
        var head = ParseWhole(RfcRequest.Replace("\r\n\r\n", "\r\n" + extraLine + "\r\n", StringComparison.Ordinal));
        Assert.Equal(failure, WebSocketRequestValidator.Validate(head.ToWebSocketRequestHead()).Failure);
    }

    // List headers split over several lines are one list (RFC 9110 section 5.3).
    [Fact]
    public void ToWebSocketRequestHead_ConnectionOnTwoLines_Combined()
    {
        var head = ParseWhole("GET / HTTP/1.1\r\nHost: h\r\nConnection: keep-alive\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n");
        Assert.Equal("keep-alive, Upgrade", head.ToWebSocketRequestHead().Connection);
    }

    [Fact]
    public void ToWebSocketRequestHead_Http10_NotHttp11()
    {
        var head = ParseWhole("GET / HTTP/1.0\r\n\r\n");
        Assert.Equal(Http1Version.Http10, head.Version);
        Assert.False(head.ToWebSocketRequestHead().IsHttp11OrLater);
        Assert.Equal(HandshakeFailure.HttpVersionTooLow, WebSocketRequestValidator.Validate(head.ToWebSocketRequestHead()).Failure);
    }

    // RFC 9110 section 2.5: a later 1.x minor version is handled as 1.1.
    [Fact]
    public void TryParse_Http19_TreatedAsHttp11() =>
        Assert.Equal(Http1Version.Http11, ParseWhole("GET / HTTP/1.9\r\n\r\n").Version);

    [Theory]
    [InlineData("/", "/", "")]
    [InlineData("/chat", "/chat", "")]
    [InlineData("/chat?", "/chat", "?")]
    [InlineData("/a/b?x=1&y=%20", "/a/b", "?x=1&y=%20")]
    [InlineData("http://example.com:8080/chat?x", "/chat", "?x")]
    [InlineData("HTTPS://example.com/chat", "/chat", "")]
    [InlineData("http://example.com", "/", "")]
    [InlineData("http://example.com?x=1", "/", "?x=1")]
    [InlineData("*", "", "")]
    [InlineData("example.com:443", "", "")]
    public void TryParse_TargetForms_PathAndQuery(string target, string path, string query)
    {
        var head = ParseWhole($"GET {target} HTTP/1.1\r\nHost: h\r\n\r\n");
        Assert.Equal(target, head.Target);
        Assert.Equal(path, head.Path);
        Assert.Equal(query, head.Query);
    }

    [Fact]
    public void TryParse_NoHeaders_Done()
    {
        var head = ParseWhole("OPTIONS * HTTP/1.1\r\n\r\n");
        Assert.Equal("OPTIONS", head.Method);
        Assert.Empty(head.Headers);
    }

    // Field values: OWS trimmed, inner whitespace and tabs kept, empty allowed, obs-text decoded as Latin-1.
    [Theory]
    [InlineData("X: value", "value")]
    [InlineData("X:value", "value")]
    [InlineData("X: \t value \t ", "value")]
    [InlineData("X: a b\tc", "a b\tc")]
    [InlineData("X:", "")]
    [InlineData("X:   ", "")]
    [InlineData("X: caf\u00e9", "caf\u00e9")]
    [InlineData("X: a:b:c", "a:b:c")]
    public void TryParse_FieldValue_Decoded(string line, string expected)
    {
        var head = ParseWhole($"GET / HTTP/1.1\r\n{line}\r\n\r\n");
        Assert.Equal(expected, head.Headers.GetFirstValue("X"));
    }

    // Common names are interned in their canonical spelling, common values on an exact match.
    [Fact]
    public void TryParse_CommonNamesAndValues_Interned()
    {
        var head = ParseWhole("GET / HTTP/1.1\r\nhOST: h\r\nupgrade: websocket\r\nX-Custom: websocket2\r\n\r\n");
        Assert.Same("Host", head.Headers[0].Key);
        Assert.Same("Upgrade", head.Headers[1].Key);
        Assert.Same("websocket", head.Headers[1].Value);
        Assert.Equal("X-Custom", head.Headers[2].Key);
        Assert.Same("GET", head.Method);
    }

    // RFC 9112 section 2.2: empty lines before the request line are skipped.
    [Fact]
    public void TryParse_LeadingEmptyLines_Skipped()
    {
        var head = ParseWhole("\r\n\r\nGET / HTTP/1.1\r\nHost: h\r\n\r\n");
        Assert.Equal("GET", head.Method);
        Assert.Equal("h", head.Headers.GetFirstValue("Host"));
    }

    public static TheoryData<string, Http1HeadError> Malformed => new()
    {
        // Bare LF is refused wherever it appears (RFC 9112 section 2.2 allows either choice).
        { "GET / HTTP/1.1\nHost: h\r\n\r\n", Http1HeadError.BareLineFeed },
        { "GET / HTTP/1.1\r\nHost: h\n\r\n", Http1HeadError.BareLineFeed },
        { "GET / HTTP/1.1\r\nHost: h\r\n\n", Http1HeadError.BareLineFeed },
        { "\nGET / HTTP/1.1\r\n\r\n", Http1HeadError.BareLineFeed },
        // Request line: method SP request-target SP HTTP-version, one SP each (RFC 9112 section 3).
        { "GET\r\n\r\n", Http1HeadError.InvalidRequestLine },
        { "GET /\r\n\r\n", Http1HeadError.InvalidRequestLine },
        { " GET / HTTP/1.1\r\n\r\n", Http1HeadError.InvalidRequestLine },
        { "GET  / HTTP/1.1\r\n\r\n", Http1HeadError.InvalidRequestLine },
        { "GET / HTTP/1.1 \r\n\r\n", Http1HeadError.InvalidRequestLine },
        { "GET /  HTTP/1.1\r\n\r\n", Http1HeadError.InvalidRequestLine },
        { "GET / http/1.1\r\n\r\n", Http1HeadError.InvalidRequestLine },
        { "GET / HTTP/1\r\n\r\n", Http1HeadError.InvalidRequestLine },
        { "GET / HTTP/1.10\r\n\r\n", Http1HeadError.InvalidRequestLine },
        { "GET / HTTP/a.1\r\n\r\n", Http1HeadError.InvalidRequestLine },
        { "GET / HTTP/1.1\rX\r\n\r\n", Http1HeadError.InvalidRequestLine },
        { "G@T / HTTP/1.1\r\n\r\n", Http1HeadError.InvalidMethod },
        { "G\u00c9T / HTTP/1.1\r\n\r\n", Http1HeadError.InvalidMethod },
        // A tab is not the separator: the method runs to the first SP and is then not a token.
        { "GET\t/ HTTP/1.1\r\n\r\n", Http1HeadError.InvalidMethod },
        { "GET /ch\u0001at HTTP/1.1\r\n\r\n", Http1HeadError.InvalidRequestTarget },
        { "GET /caf\u00e9 HTTP/1.1\r\n\r\n", Http1HeadError.InvalidRequestTarget },
        { "GET /chat#frag HTTP/1.1\r\n\r\n", Http1HeadError.InvalidRequestTarget },
        { "GET / HTTP/2.0\r\n\r\n", Http1HeadError.UnsupportedHttpVersion },
        { "GET / HTTP/0.9\r\n\r\n", Http1HeadError.UnsupportedHttpVersion },
        // Field lines (RFC 9112 section 5, RFC 9110 section 5.5).
        { "GET / HTTP/1.1\r\nHost : h\r\n\r\n", Http1HeadError.WhitespaceBeforeColon },
        { "GET / HTTP/1.1\r\nHost\t: h\r\n\r\n", Http1HeadError.WhitespaceBeforeColon },
        { "GET / HTTP/1.1\r\n Host: h\r\n\r\n", Http1HeadError.ObsoleteLineFolding },
        { "GET / HTTP/1.1\r\nX: a\r\n  continued\r\n\r\n", Http1HeadError.ObsoleteLineFolding },
        { "GET / HTTP/1.1\r\nX: a\r\n\tcontinued\r\n\r\n", Http1HeadError.ObsoleteLineFolding },
        { "GET / HTTP/1.1\r\nHost h\r\n\r\n", Http1HeadError.MissingColon },
        { "GET / HTTP/1.1\r\n: h\r\n\r\n", Http1HeadError.InvalidHeaderName },
        { "GET / HTTP/1.1\r\nHo(st: h\r\n\r\n", Http1HeadError.InvalidHeaderName },
        { "GET / HTTP/1.1\r\nH\u00f6st: h\r\n\r\n", Http1HeadError.InvalidHeaderName },
        { "GET / HTTP/1.1\r\nHo st: h\r\n\r\n", Http1HeadError.InvalidHeaderName },
        { "GET / HTTP/1.1\r\nX: a\u0000b\r\n\r\n", Http1HeadError.InvalidHeaderValue },
        { "GET / HTTP/1.1\r\nX: a\rb\r\n\r\n", Http1HeadError.InvalidHeaderValue },
        { "GET / HTTP/1.1\r\nX: a\r\r\n\r\n", Http1HeadError.InvalidHeaderValue },
        { "GET / HTTP/1.1\r\nX: a\u007fb\r\n\r\n", Http1HeadError.InvalidHeaderValue },
        { "GET / HTTP/1.1\r\nX: a\u001bb\r\n\r\n", Http1HeadError.InvalidHeaderValue },
    };

    [Theory]
    [MemberData(nameof(Malformed))]
    public void TryParse_Malformed_InvalidDataAndBufferUnchanged(string text, Http1HeadError expected)
    {
        var bytes = Latin1(text);
        var buffer = new ReadOnlySequence<byte>(bytes);
        var status = new Http1RequestHeadParser().TryParse(ref buffer, out var head, out var error);
        Assert.Equal(Http1ParseStatus.InvalidData, status);
        Assert.Equal(expected, error);
        Assert.Null(head);
        Assert.Equal(bytes.Length, buffer.Length);
    }

    // Bare LF fails as soon as it arrives, not when the head is complete.
    [Fact]
    public void TryParse_BareLineFeedInIncompleteHead_FailsImmediately()
    {
        var buffer = new ReadOnlySequence<byte>(Latin1("GET / HTTP/1.1\nHo"));
        Assert.Equal(Http1ParseStatus.InvalidData, new Http1RequestHeadParser().TryParse(ref buffer, out _, out var error));
        Assert.Equal(Http1HeadError.BareLineFeed, error);
    }

    [Theory]
    [InlineData("")]
    [InlineData("GET / HTTP/1.1")]
    [InlineData("GET / HTTP/1.1\r\nHost: h\r\n")]
    [InlineData("GET / HTTP/1.1\r\nHost: h\r\n\r")]
    [InlineData("\r\n\r\n")]
    public void TryParse_Incomplete_NeedMoreDataAndBufferUnchanged(string text)
    {
        var buffer = new ReadOnlySequence<byte>(Latin1(text));
        var status = new Http1RequestHeadParser().TryParse(ref buffer, out var head, out var error);
        Assert.Equal(Http1ParseStatus.NeedMoreData, status);
        Assert.Equal(Http1HeadError.None, error);
        Assert.Null(head);
        Assert.Equal(text.Length, buffer.Length);
    }

    // Bytes after the head (a client that did not wait for the 101) stay in the buffer for the frame reader.
    [Fact]
    public void TryParse_BytesAfterHead_LeftInBuffer()
    {
        byte[] trailing = [0x81, 0x85, 1, 2, 3, 4, 5, 6, 7, 8, 9];
        var bytes = Latin1(RfcRequest).Concat(trailing).ToArray();
        var buffer = SegmentedSequence.Create(bytes, 10, RfcRequest.Length + 3);
        Assert.Equal(Http1ParseStatus.Done, new Http1RequestHeadParser().TryParse(ref buffer, out _, out _));
        Assert.Equal(trailing, buffer.ToArray());
    }

    // 431 territory: the limit is inclusive and counts from the first byte to the empty line.
    [Fact]
    public void TryParse_HeadExactlyAtLimit_Done()
    {
        var bytes = Latin1(RfcRequest);
        var buffer = new ReadOnlySequence<byte>(bytes);
        Assert.Equal(Http1ParseStatus.Done, new Http1RequestHeadParser(bytes.Length).TryParse(ref buffer, out _, out _));
    }

    [Fact]
    public void TryParse_HeadOneByteOverLimit_HeadTooLarge()
    {
        var bytes = Latin1(RfcRequest);
        var buffer = new ReadOnlySequence<byte>(bytes);
        var status = new Http1RequestHeadParser(bytes.Length - 1).TryParse(ref buffer, out var head, out var error);
        Assert.Equal(Http1ParseStatus.HeadTooLarge, status);
        Assert.Equal(Http1HeadError.HeadTooLarge, error);
        Assert.Null(head);
        Assert.Equal(bytes.Length, buffer.Length);
    }

    [Fact]
    public void TryParse_DefaultLimitFloodedWithHeaders_HeadTooLarge()
    {
        var text = new StringBuilder("GET / HTTP/1.1\r\n");
        while (text.Length <= Http1RequestHeadParser.DefaultMaxHeadSize)
        {
            text.Append("X-Filler: 0123456789abcdef0123456789abcdef\r\n");
        }

        var buffer = new ReadOnlySequence<byte>(Latin1(text.ToString()));
        Assert.Equal(Http1ParseStatus.HeadTooLarge, new Http1RequestHeadParser().TryParse(ref buffer, out _, out _));
    }

    // The limit applies before the end is seen: a head that has not ended within it fails without waiting for more.
    [Fact]
    public void TryParse_UnterminatedOverLimit_HeadTooLargeBeforeEnd()
    {
        var parser = new Http1RequestHeadParser(32);
        var buffer = new ReadOnlySequence<byte>(Latin1("GET / HTTP/1.1\r\nX-Long: " + new string('a', 100)));
        Assert.Equal(Http1ParseStatus.HeadTooLarge, parser.TryParse(ref buffer, out _, out _));
    }

    [Fact]
    public void TryParse_LeadingEmptyLines_CountTowardLimit()
    {
        const string text = "GET / HTTP/1.1\r\n\r\n";
        var buffer = new ReadOnlySequence<byte>(Latin1("\r\n\r\n" + text));
        Assert.Equal(Http1ParseStatus.HeadTooLarge, new Http1RequestHeadParser(text.Length + 3).TryParse(ref buffer, out _, out _));
        buffer = new ReadOnlySequence<byte>(Latin1("\r\n\r\n" + text));
        Assert.Equal(Http1ParseStatus.Done, new Http1RequestHeadParser(text.Length + 4).TryParse(ref buffer, out _, out _));
    }

    // A small head followed by more bytes than the limit is fine: only the head counts.
    [Fact]
    public void TryParse_SmallHeadLargeTrailingData_Done()
    {
        var bytes = Latin1(RfcRequest + new string('x', 1000));
        var buffer = new ReadOnlySequence<byte>(bytes);
        Assert.Equal(Http1ParseStatus.Done, new Http1RequestHeadParser(RfcRequest.Length).TryParse(ref buffer, out _, out _));
        Assert.Equal(1000, buffer.Length);
    }

    [Fact]
    public void Constructor_NonPositiveLimit_Throws()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new Http1RequestHeadParser(0));
        Assert.Throws<ArgumentOutOfRangeException>(() => new Http1RequestHeadParser(-1));
        Assert.Equal(8192, new Http1RequestHeadParser().MaxHeadSize);
    }

    // After a result other than NeedMoreData the parser starts afresh; Reset forgets a partial scan.
    [Fact]
    public void TryParse_AfterFailureOrReset_ParsesNextHead()
    {
        var parser = new Http1RequestHeadParser();
        var bad = new ReadOnlySequence<byte>(Latin1("GET / HTTP/1.1\r\nHost : h\r\n\r\n"));
        Assert.Equal(Http1ParseStatus.InvalidData, parser.TryParse(ref bad, out _, out _));

        var partial = new ReadOnlySequence<byte>(Latin1("GET /other HTTP/1.1\r\nHo"));
        Assert.Equal(Http1ParseStatus.NeedMoreData, parser.TryParse(ref partial, out _, out _));
        parser.Reset();

        var good = new ReadOnlySequence<byte>(Latin1(RfcRequest));
        Assert.Equal(Http1ParseStatus.Done, parser.TryParse(ref good, out var head, out _));
        Assert.Equal("/chat?room=1", head!.Target);
    }

    public static TheoryData<string, int> SplitCases => new()
    {
        { RfcRequest, Http1RequestHeadParser.DefaultMaxHeadSize },
        { "\r\n" + RfcRequest, Http1RequestHeadParser.DefaultMaxHeadSize },
        { "GET / HTTP/1.1\r\n\r\n", Http1RequestHeadParser.DefaultMaxHeadSize },
        { "GET / HTTP/1.1\r\nX: caf\u00e9\r\nY:\r\n\r\n", Http1RequestHeadParser.DefaultMaxHeadSize },
        { "GET / HTTP/1.1\r\nHost: h\nX: y\r\n\r\n", Http1RequestHeadParser.DefaultMaxHeadSize },
        { "GET / HTTP/1.1\r\nHost: h\r\n\n", Http1RequestHeadParser.DefaultMaxHeadSize },
        { "GET / HTTP/1.1\r\nHost : h\r\n\r\n", Http1RequestHeadParser.DefaultMaxHeadSize },
        { "GET / HTTP/1.1\r\nX: a\r\n folded\r\n\r\n", Http1RequestHeadParser.DefaultMaxHeadSize },
        { RfcRequest, 64 },
        { RfcRequest, RfcRequest.Length },
    };

    // Fed whole, split in two at every offset (one call, or a NeedMoreData call then the rest), and byte by byte:
    // the same outcome every time.
    [Theory]
    [MemberData(nameof(SplitCases))]
    public void TryParse_AnySplit_SameOutcomeAsWhole(string text, int maxHeadSize)
    {
        var bytes = Latin1(text);
        string expected = Outcome(bytes, maxHeadSize, [bytes.Length]);

        for (int cut = 1; cut < bytes.Length; cut++)
        {
            var parser = new Http1RequestHeadParser(maxHeadSize);
            var buffer = SegmentedSequence.Create(bytes, cut);
            Assert.Equal(expected, Describe(parser.TryParse(ref buffer, out var head, out var error), head, error, buffer));

            Assert.Equal(expected, Outcome(bytes, maxHeadSize, [cut, bytes.Length]));
        }

        Assert.Equal(expected, Outcome(bytes, maxHeadSize, Enumerable.Range(1, bytes.Length).ToArray()));
    }

    // Grows the buffer to each of chunkEnds in turn, as a pipe would, each chunk its own segment, until a final result.
    private static string Outcome(byte[] bytes, int maxHeadSize, int[] chunkEnds)
    {
        var parser = new Http1RequestHeadParser(maxHeadSize);
        foreach (int end in chunkEnds)
        {
            var cuts = chunkEnds.TakeWhile(c => c < end).ToArray();
            var buffer = SegmentedSequence.Create(bytes.AsMemory(0, end), cuts);
            var status = parser.TryParse(ref buffer, out var head, out var error);
            if (status != Http1ParseStatus.NeedMoreData || end == bytes.Length)
            {
                return Describe(status, head, error, buffer);
            }

            Assert.Null(head);
            Assert.Equal(end, buffer.Length);
        }

        throw new InvalidOperationException("unreachable: the last chunk ends at the end of the data");
    }

    private static string Describe(Http1ParseStatus status, Http1RequestHead? head, Http1HeadError error, ReadOnlySequence<byte> rest)
    {
        // A failed or incomplete parse leaves the buffer as given, so only a completed one has a meaningful rest.
        var text = new StringBuilder($"{status} {error}");
        if (status == Http1ParseStatus.Done)
        {
            text.Append($" rest={rest.Length}");
        }

        if (head is not null)
        {
            text.Append($" {head.Method} {head.Target} {head.Version} {head.Path} {head.Query}");
            foreach (var (name, value) in head.Headers)
            {
                text.Append($" [{name}={value}]");
            }
        }

        return text.ToString();
    }

    internal static byte[] Latin1(string text) => Encoding.Latin1.GetBytes(text);

    private static Http1RequestHead ParseWhole(string text)
    {
        var buffer = new ReadOnlySequence<byte>(Latin1(text));
        var status = new Http1RequestHeadParser().TryParse(ref buffer, out var head, out var error);
        Assert.True(status == Http1ParseStatus.Done, $"{status} {error}");
        return head!;
    }
}
