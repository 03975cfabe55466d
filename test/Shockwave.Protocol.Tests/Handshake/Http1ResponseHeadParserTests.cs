using System.Buffers;
using System.Text;
using Shockwave.Protocol.Handshake;

namespace Shockwave.Protocol.Tests.Handshake;

public class Http1ResponseHeadParserTests
{
    private const string RfcResponse =
        "HTTP/1.1 101 Switching Protocols\r\n" +
        "Upgrade: websocket\r\n" +
        "Connection: Upgrade\r\n" +
        "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n" +
        "Sec-WebSocket-Protocol: chat\r\n" +
        "\r\n";

    // R6455-4.2.2-j1 to j4 as the client reads them, with a frame the server sent right after the head.
    [Fact]
    public void TryParse_Rfc101WithFrameAfter_ParsesHeadAndLeavesFrame()
    {
        byte[] frame = [0x81, 0x02, (byte)'h', (byte)'i'];
        var bytes = Http1RequestHeadParserTests.Latin1(RfcResponse).Concat(frame).ToArray();
        var buffer = new ReadOnlySequence<byte>(bytes);

        var status = new Http1ResponseHeadParser().TryParse(ref buffer, out var head, out var error);

        Assert.Equal(Http1ParseStatus.Done, status);
        Assert.Equal(Http1HeadError.None, error);
        Assert.NotNull(head);
        Assert.Equal(Http1Version.Http11, head.Version);
        Assert.Equal(101, head.StatusCode);
        Assert.Equal("Switching Protocols", head.ReasonPhrase);
        Assert.Equal(4, head.Headers.Count);
        Assert.True(WebSocketAccept.IsExpectedAccept("dGhlIHNhbXBsZSBub25jZQ==", head.Headers.GetFirstValue("sec-websocket-accept")));
        Assert.Equal(frame, buffer.ToArray());
    }

    // R6455-4.1-ai: a duplicate Sec-WebSocket-Accept (R6455-11.3-d) stays visible to the client.
    [Fact]
    public void TryParse_DuplicateAccept_BothLinesKept()
    {
        var text = RfcResponse.Replace("\r\n\r\n", "\r\nSec-WebSocket-Accept: x\r\n\r\n", StringComparison.Ordinal);
        var head = ParseWhole(text);
        Assert.Equal(2, head.Headers.GetCount("Sec-WebSocket-Accept"));
    }

    [Theory]
    [InlineData("HTTP/1.1 400 Bad Request\r\n\r\n", 400, "Bad Request")]
    [InlineData("HTTP/1.1 426 Upgrade Required\r\nSec-WebSocket-Version: 13\r\n\r\n", 426, "Upgrade Required")]
    [InlineData("HTTP/1.0 503 Service Unavailable\r\n\r\n", 503, "Service Unavailable")]
    [InlineData("HTTP/1.1 101 \r\n\r\n", 101, "")]
    [InlineData("HTTP/1.1 200 OK, with \tdetail\r\n\r\n", 200, "OK, with \tdetail")]
    [InlineData("HTTP/1.1 100 Continue\r\n\r\n", 100, "Continue")]
    [InlineData("HTTP/1.1 599 x\r\n\r\n", 599, "x")]
    public void TryParse_StatusLine_CodeAndReason(string text, int code, string reason)
    {
        var head = ParseWhole(text);
        Assert.Equal(code, head.StatusCode);
        Assert.Equal(reason, head.ReasonPhrase);
    }

    public static TheoryData<string, Http1HeadError> Malformed => new()
    {
        // RFC 9112 section 4: HTTP-version SP 3DIGIT SP reason-phrase; the second SP is required.
        { "HTTP/1.1 101\r\n\r\n", Http1HeadError.InvalidStatusLine },
        { "HTTP/1.1  101 x\r\n\r\n", Http1HeadError.InvalidStatusLine },
        { "HTTP/1.1 99 x\r\n\r\n", Http1HeadError.InvalidStatusLine },
        { "HTTP/1.1 1010 x\r\n\r\n", Http1HeadError.InvalidStatusLine },
        { "HTTP/1.1 600 x\r\n\r\n", Http1HeadError.InvalidStatusLine },
        { "HTTP/1.1 099 x\r\n\r\n", Http1HeadError.InvalidStatusLine },
        { "HTTP/1.1 1O1 x\r\n\r\n", Http1HeadError.InvalidStatusLine },
        { "HTTP/1.1 101 bad\u0000reason\r\n\r\n", Http1HeadError.InvalidStatusLine },
        { "HTTP/2 101 Switching Protocols\r\n\r\n", Http1HeadError.InvalidStatusLine },
        { "http/1.1 101 Switching Protocols\r\n\r\n", Http1HeadError.InvalidStatusLine },
        { "HTTP/2.0 101 Switching Protocols\r\n\r\n", Http1HeadError.UnsupportedHttpVersion },
        { "HTTP/1.1 101 Switching Protocols\nUpgrade: websocket\r\n\r\n", Http1HeadError.BareLineFeed },
        { "HTTP/1.1 101 Switching Protocols\r\nUpgrade : websocket\r\n\r\n", Http1HeadError.WhitespaceBeforeColon },
        { "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n folded\r\n\r\n", Http1HeadError.ObsoleteLineFolding },
        { "HTTP/1.1 101 Switching Protocols\r\nUpgrade: web\rsocket\r\n\r\n", Http1HeadError.InvalidHeaderValue },
        { "HTTP/1.1 101 Switching Protocols\r\nUpgrade\r\n\r\n", Http1HeadError.MissingColon },
    };

    [Theory]
    [MemberData(nameof(Malformed))]
    public void TryParse_Malformed_InvalidData(string text, Http1HeadError expected)
    {
        var buffer = new ReadOnlySequence<byte>(Http1RequestHeadParserTests.Latin1(text));
        var status = new Http1ResponseHeadParser().TryParse(ref buffer, out var head, out var error);
        Assert.Equal(Http1ParseStatus.InvalidData, status);
        Assert.Equal(expected, error);
        Assert.Null(head);
        Assert.Equal(text.Length, buffer.Length);
    }

    [Fact]
    public void TryParse_OverLimit_HeadTooLarge()
    {
        var buffer = new ReadOnlySequence<byte>(Http1RequestHeadParserTests.Latin1(RfcResponse));
        var status = new Http1ResponseHeadParser(RfcResponse.Length - 1).TryParse(ref buffer, out _, out var error);
        Assert.Equal(Http1ParseStatus.HeadTooLarge, status);
        Assert.Equal(Http1HeadError.HeadTooLarge, error);
        Assert.Throws<ArgumentOutOfRangeException>(() => new Http1ResponseHeadParser(0));
    }

    // The 101 arrives in pieces: split at every offset, byte by byte, with the same result as whole.
    [Fact]
    public void TryParse_AnySplit_SameOutcomeAsWhole()
    {
        var bytes = Http1RequestHeadParserTests.Latin1(RfcResponse + "\u0081\u0000");
        string expected = Describe(bytes, [bytes.Length]);
        Assert.StartsWith("Done", expected, StringComparison.Ordinal);

        for (int cut = 1; cut < RfcResponse.Length; cut++)
        {
            Assert.Equal(expected, Describe(bytes, [cut, bytes.Length]));
        }

        var parser = new Http1ResponseHeadParser();
        var oneByteSegments = SegmentedSequence.OneBytePerSegment(bytes);
        Assert.Equal(Http1ParseStatus.Done, parser.TryParse(ref oneByteSegments, out var head, out _));
        Assert.Equal(101, head!.StatusCode);
        Assert.Equal(2, oneByteSegments.Length);
    }

    private static string Describe(byte[] bytes, int[] chunkEnds)
    {
        var parser = new Http1ResponseHeadParser();
        foreach (int end in chunkEnds)
        {
            var buffer = SegmentedSequence.Create(bytes.AsMemory(0, end), chunkEnds.TakeWhile(c => c < end).ToArray());
            var status = parser.TryParse(ref buffer, out var head, out var error);
            if (status != Http1ParseStatus.NeedMoreData)
            {
                var text = new StringBuilder($"{status} {error} rest={Convert.ToHexString(buffer.ToArray())}");
                text.Append($" {head!.Version} {head.StatusCode} {head.ReasonPhrase}");
                foreach (var (name, value) in head.Headers)
                {
                    text.Append($" [{name}={value}]");
                }

                return text.ToString();
            }
        }

        return "NeedMoreData";
    }

    private static Http1ResponseHead ParseWhole(string text)
    {
        var buffer = new ReadOnlySequence<byte>(Http1RequestHeadParserTests.Latin1(text));
        var status = new Http1ResponseHeadParser().TryParse(ref buffer, out var head, out var error);
        Assert.True(status == Http1ParseStatus.Done, $"{status} {error}");
        return head!;
    }
}
