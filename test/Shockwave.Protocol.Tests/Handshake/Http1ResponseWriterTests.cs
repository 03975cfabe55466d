using System.Buffers;
using System.Text;
using Shockwave.Protocol.Handshake;

namespace Shockwave.Protocol.Tests.Handshake;

public class Http1ResponseWriterTests
{
    private const string RfcKey = "dGhlIHNhbXBsZSBub25jZQ==";

    // R6455-4.2.2-j1 to j4, byte for byte.
    [Fact]
    public void WriteSwitchingProtocols_RfcKey_ExactBytes()
    {
        var writer = new ArrayBufferWriter<byte>();
        Http1ResponseWriter.WriteSwitchingProtocols(writer, RfcKey);
        Assert.Equal(
            "HTTP/1.1 101 Switching Protocols\r\n" +
            "Upgrade: websocket\r\n" +
            "Connection: Upgrade\r\n" +
            "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n" +
            "\r\n",
            Text(writer));
    }

    // R6455-11.3-c and R6455-11.3-e: one Sec-WebSocket-Protocol, one Sec-WebSocket-Extensions.
    [Fact]
    public void WriteSwitchingProtocols_SubProtocolAndExtensions_OneLineEach()
    {
        var writer = new ArrayBufferWriter<byte>();
        Http1ResponseWriter.WriteSwitchingProtocols(writer, " " + RfcKey, "chat", "permessage-deflate; server_no_context_takeover");
        Assert.Equal(
            "HTTP/1.1 101 Switching Protocols\r\n" +
            "Upgrade: websocket\r\n" +
            "Connection: Upgrade\r\n" +
            "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n" +
            "Sec-WebSocket-Protocol: chat\r\n" +
            "Sec-WebSocket-Extensions: permessage-deflate; server_no_context_takeover\r\n" +
            "\r\n",
            Text(writer));
    }

    // R6455-4.2.2-g: no agreed subprotocol, no header; an empty value is not "none".
    [Theory]
    [InlineData(null)]
    [InlineData("")]
    public void WriteSwitchingProtocols_NoSubProtocol_NoHeader(string? subProtocol)
    {
        var writer = new ArrayBufferWriter<byte>();
        Http1ResponseWriter.WriteSwitchingProtocols(writer, RfcKey, subProtocol, "");
        Assert.DoesNotContain("Sec-WebSocket-Protocol", Text(writer), StringComparison.Ordinal);
        Assert.DoesNotContain("Sec-WebSocket-Extensions", Text(writer), StringComparison.Ordinal);
    }

    // What the server writes, the client parser reads back and the client check accepts (R6455-4.1-af).
    [Fact]
    public void WriteSwitchingProtocols_ReadBackByResponseParser_AcceptMatches()
    {
        string key = WebSocketAccept.CreateClientKey();
        var writer = new ArrayBufferWriter<byte>();
        Http1ResponseWriter.WriteSwitchingProtocols(writer, key, "mqtt");
        var buffer = new ReadOnlySequence<byte>(writer.WrittenMemory);

        Assert.Equal(Http1ParseStatus.Done, new Http1ResponseHeadParser().TryParse(ref buffer, out var head, out _));
        Assert.Equal(101, head!.StatusCode);
        Assert.True(HeaderTokens.ContainsToken(head.Headers.GetCombinedValue("Upgrade"), "websocket"));
        Assert.True(HeaderTokens.ContainsToken(head.Headers.GetCombinedValue("Connection"), "upgrade"));
        Assert.True(WebSocketAccept.IsExpectedAccept(key, head.Headers.GetFirstValue("Sec-WebSocket-Accept")));
        Assert.Equal("mqtt", head.Headers.GetFirstValue("Sec-WebSocket-Protocol"));
        Assert.Equal(0, buffer.Length);
    }

    [Theory]
    [InlineData("AAAAAAAAAAAAAAAAAAAA", null, null)]
    [InlineData(RfcKey, "a b", null)]
    [InlineData(RfcKey, "chat", "permessage-deflate\r\nX-Injected: 1")]
    public void WriteSwitchingProtocols_InvalidArgument_ThrowsAndWritesNothing(string key, string? subProtocol, string? extensions)
    {
        var writer = new ArrayBufferWriter<byte>();
        Assert.Throws<ArgumentException>(() => Http1ResponseWriter.WriteSwitchingProtocols(writer, key, subProtocol, extensions));
        Assert.Equal(0, writer.WrittenCount);
    }

    // Every validator failure becomes a complete head with its status, required headers and an empty body.
    [Fact]
    public void WriteRejection_UnsupportedVersion_426WithVersionAndUpgrade()
    {
        var result = WebSocketRequestValidator.Validate(ValidHead() with { Version = "8" });
        var writer = new ArrayBufferWriter<byte>();
        Http1ResponseWriter.WriteRejection(writer, result);
        Assert.Equal(
            "HTTP/1.1 426 Upgrade Required\r\n" +
            "Sec-WebSocket-Version: 13\r\n" +
            "Upgrade: websocket\r\n" +
            "Content-Length: 0\r\n" +
            "Connection: Upgrade, close\r\n" +
            "\r\n",
            Text(writer));
    }

    [Fact]
    public void WriteRejection_MethodNotGet_405WithAllow()
    {
        var result = WebSocketRequestValidator.Validate(ValidHead() with { Method = "POST" });
        var writer = new ArrayBufferWriter<byte>();
        Http1ResponseWriter.WriteRejection(writer, result);
        Assert.Equal(
            "HTTP/1.1 405 Method Not Allowed\r\nAllow: GET\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
            Text(writer));
    }

    [Theory]
    [InlineData(400, "HTTP/1.1 400 Bad Request\r\n")]
    [InlineData(403, "HTTP/1.1 403 Forbidden\r\n")]
    [InlineData(404, "HTTP/1.1 404 Not Found\r\n")]
    [InlineData(431, "HTTP/1.1 431 Request Header Fields Too Large\r\n")]
    [InlineData(503, "HTTP/1.1 503 Service Unavailable\r\n")]
    public void WriteRejection_Status_StatusLineAndEmptyBody(int status, string statusLine)
    {
        var writer = new ArrayBufferWriter<byte>();
        Http1ResponseWriter.WriteRejection(writer, status);
        Assert.Equal(statusLine + "Content-Length: 0\r\nConnection: close\r\n\r\n", Text(writer));
    }

    [Fact]
    public void WriteRejection_ValidResult_Throws()
    {
        var result = WebSocketRequestValidator.Validate(ValidHead());
        Assert.Throws<ArgumentException>(() => Http1ResponseWriter.WriteRejection(new ArrayBufferWriter<byte>(), result));
    }

    [Theory]
    [InlineData(299, null, "HTTP/1.1 299 \r\n")]
    [InlineData(200, "OK", "HTTP/1.1 200 OK\r\n")]
    [InlineData(101, "Custom\tReason", "HTTP/1.1 101 Custom\tReason\r\n")]
    [InlineData(100, null, "HTTP/1.1 100 \r\n")]
    [InlineData(599, "", "HTTP/1.1 599 \r\n")]
    public void WriteStatusLine_CodeAndReason_ExactBytes(int status, string? reason, string expected)
    {
        var writer = new ArrayBufferWriter<byte>();
        Http1ResponseWriter.WriteStatusLine(writer, status, reason);
        Assert.Equal(expected, Text(writer));
    }

    [Theory]
    [InlineData(99)]
    [InlineData(600)]
    [InlineData(-101)]
    public void WriteStatusLine_OutOfRange_Throws(int status) =>
        Assert.Throws<ArgumentOutOfRangeException>(() => Http1ResponseWriter.WriteStatusLine(new ArrayBufferWriter<byte>(), status));

    // Response splitting: nothing from a caller may end a line early.
    [Theory]
    [InlineData("X-Ok", "a\r\nSet-Cookie: evil")]
    [InlineData("X-Ok", "a\nb")]
    [InlineData("X-Ok", "a\u0000b")]
    [InlineData("X-Ok", "caf\u00e9")]
    [InlineData("X-Ok", "\u007f")]
    [InlineData("X Bad", "v")]
    [InlineData("X:Bad", "v")]
    [InlineData("", "v")]
    public void WriteHeader_UnsafeNameOrValue_ThrowsAndWritesNothing(string name, string value)
    {
        var writer = new ArrayBufferWriter<byte>();
        Assert.Throws<ArgumentException>(() => Http1ResponseWriter.WriteHeader(writer, name, value));
        Assert.Equal(0, writer.WrittenCount);
    }

    [Fact]
    public void WriteStatusLine_ReasonWithCrLf_Throws() =>
        Assert.Throws<ArgumentException>(() => Http1ResponseWriter.WriteStatusLine(new ArrayBufferWriter<byte>(), 400, "Bad\r\nX: y"));

    [Fact]
    public void WriteHeader_TabAndSpaceInValue_Written()
    {
        var writer = new ArrayBufferWriter<byte>();
        Http1ResponseWriter.WriteHeader(writer, "X-Ok", "a b\tc");
        Http1ResponseWriter.WriteEndOfHead(writer);
        Assert.Equal("X-Ok: a b\tc\r\n\r\n", Text(writer));
    }

    [Theory]
    [InlineData(101, "Switching Protocols")]
    [InlineData(426, "Upgrade Required")]
    [InlineData(431, "Request Header Fields Too Large")]
    [InlineData(418, "")]
    public void GetReasonPhrase_Status_StandardPhrase(int status, string expected) =>
        Assert.Equal(expected, Http1ResponseWriter.GetReasonPhrase(status));

    private static WebSocketRequestHead ValidHead() => new()
    {
        Method = "GET",
        IsHttp11OrLater = true,
        HostCount = 1,
        Upgrade = "websocket",
        Connection = "Upgrade",
        KeyCount = 1,
        Key = RfcKey,
        VersionCount = 1,
        Version = "13",
    };

    private static string Text(ArrayBufferWriter<byte> writer) => Encoding.ASCII.GetString(writer.WrittenSpan);
}
