using System.Buffers;
using System.Text;
using Shockwave.Protocol.Compression;
using Shockwave.Protocol.Handshake;

namespace Shockwave.Protocol.Tests.Handshake;

public class WebSocketResponseValidatorTests
{
    private const string RfcKey = "dGhlIHNhbXBsZSBub25jZQ==";
    private const string RfcAccept = "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=";

    private static readonly PerMessageDeflateClientOffer UsualDeflate =
        PerMessageDeflateClientOffer.FromOptions(new PerMessageDeflateOptions { Enabled = true })!.Value;

    // The RFC's 101 plus the given field lines.
    private static Http1ResponseHead Answer(params string[] extraLines) =>
        Parse("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: " + RfcAccept + "\r\n"
            + string.Concat(extraLines.Select(line => line + "\r\n")) + "\r\n");

    private static WebSocketResponseValidationResult Validate(Http1ResponseHead head, string[]? subProtocols = null, PerMessageDeflateClientOffer? deflate = null) =>
        WebSocketResponseValidator.Validate(head, RfcKey, subProtocols ?? [], deflate);

    private static void AssertFails(WebSocketResponseValidationResult result, WebSocketResponseFailure expected)
    {
        Assert.NotEqual(WebSocketResponseFailure.None, expected);
        Assert.Equal(expected, result.Failure);
        Assert.False(result.IsValid);
        Assert.Null(result.SubProtocol);
        Assert.Null(result.PerMessageDeflate);
    }

    // R6455-4.1-ac: the RFC's own answer passes.
    [Fact]
    public void Validate_RfcAnswer_Valid()
    {
        var result = Validate(Answer());
        Assert.True(result.IsValid);
        Assert.Equal(WebSocketResponseFailure.None, result.Failure);
        Assert.Equal(101, result.StatusCode);
        Assert.Null(result.SubProtocol);
        Assert.Null(result.PerMessageDeflate);
        Assert.Equal(PerMessageDeflateResponseError.None, result.DeflateError);
    }

    // The whole handshake without I/O: the client writes, the server parses, validates, negotiates and answers, the client
    // parses and validates the answer, and both ends agree on the subprotocol and the deflate parameters.
    [Fact]
    public void Validate_FullSansIoHandshake_BothEndsAgree()
    {
        var deflateOffer = PerMessageDeflateClientOffer.FromOptions(new PerMessageDeflateOptions { Enabled = true, ServerMaxWindowBits = 11 })!.Value;
        var request = new WebSocketClientRequest
        {
            Uri = new Uri("ws://localhost:5000/hub"),
            Key = WebSocketAccept.CreateClientKey(),
            SubProtocols = ["v2.json", "v1.json"],
            Extensions = deflateOffer.ToHeaderValue(),
        };
        var wire = new ArrayBufferWriter<byte>();
        Http1RequestWriter.WriteUpgradeRequest(wire, request);

        // Server side.
        var requestBytes = new ReadOnlySequence<byte>(wire.WrittenMemory);
        Assert.Equal(Http1ParseStatus.Done, new Http1RequestHeadParser().TryParse(ref requestBytes, out var requestHead, out _));
        Assert.True(WebSocketRequestValidator.Validate(requestHead!.ToWebSocketRequestHead()).IsValid);
        string? selected = SubProtocols.Select(requestHead.Headers.GetCombinedValue("Sec-WebSocket-Protocol"), ["v1.json"]);
        var negotiation = new PerMessageDeflateNegotiator(new PerMessageDeflateOptions { Enabled = true, RequireClientNoContextTakeover = true })
            .Negotiate(requestHead.Headers.GetFirstValue("Sec-WebSocket-Extensions"));
        var answer = new ArrayBufferWriter<byte>();
        Http1ResponseWriter.WriteSwitchingProtocols(answer, requestHead.Headers.GetFirstValue("Sec-WebSocket-Key"), selected, negotiation.ResponseHeaderValue);

        // Client side.
        var responseBytes = new ReadOnlySequence<byte>(answer.WrittenMemory);
        Assert.Equal(Http1ParseStatus.Done, new Http1ResponseHeadParser().TryParse(ref responseBytes, out var responseHead, out _));
        var result = WebSocketResponseValidator.Validate(responseHead!, request, deflateOffer);

        Assert.True(result.IsValid, result.ToString());
        Assert.Same(request.SubProtocols[1], result.SubProtocol);
        Assert.Equal(negotiation.Parameters, result.PerMessageDeflate);
        Assert.Equal(new PerMessageDeflateParameters(false, true, 11, 15), result.PerMessageDeflate);
    }

    // Section 4.1: anything but 101 fails, with the status kept so a client can tell "do not retry" (4xx) from "may retry" (5xx).
    [Theory]
    [InlineData("HTTP/1.1 200 OK\r\n\r\n", 200)]
    [InlineData("HTTP/1.1 100 Continue\r\n\r\n", 100)]
    [InlineData("HTTP/1.1 302 Found\r\nLocation: ws://elsewhere/\r\n\r\n", 302)]
    [InlineData("HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n", 400)]
    [InlineData("HTTP/1.1 401 Unauthorized\r\n\r\n", 401)]
    [InlineData("HTTP/1.1 403 Forbidden\r\n\r\n", 403)]
    [InlineData("HTTP/1.1 404 Not Found\r\n\r\n", 404)]
    [InlineData("HTTP/1.1 426 Upgrade Required\r\nSec-WebSocket-Version: 13\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n", 426)]
    [InlineData("HTTP/1.1 500 Internal Server Error\r\n\r\n", 500)]
    [InlineData("HTTP/1.1 503 Service Unavailable\r\nRetry-After: 5\r\n\r\n", 503)]
    public void Validate_StatusNot101_FailsWithStatus(string text, int status)
    {
        var result = Validate(Parse(text));
        AssertFails(result, WebSocketResponseFailure.UnexpectedStatusCode);
        Assert.Equal(status, result.StatusCode);
        Assert.Contains($"({status})", result.ToString(), StringComparison.Ordinal);
    }

    // R6455-4.1-ac: a 101 with several faults reports the first in the order of section 4.1's list.
    [Fact]
    public void Validate_SeveralFaults_FirstInSection41OrderWins()
    {
        var head = Parse("HTTP/1.1 101 Switching Protocols\r\nUpgrade: h2c\r\nSec-WebSocket-Accept: x\r\nSec-WebSocket-Protocol: nope\r\n\r\n");
        AssertFails(Validate(head), WebSocketResponseFailure.MissingUpgradeWebSocket);
    }

    // R6455-4.1-ad: Upgrade must have a websocket element, compared ignoring case.
    [Theory]
    [InlineData(null, false)]
    [InlineData("", false)]
    [InlineData("h2c", false)]
    [InlineData("websocket2", false)]
    [InlineData("websocket/13", false)]
    [InlineData("web socket", false)]
    [InlineData("websocket", true)]
    [InlineData("WebSocket", true)]
    [InlineData("WEBSOCKET", true)]
    [InlineData("foo, websocket", true)]
    public void Validate_Upgrade(string? upgrade, bool valid)
    {
        var lines = new List<string> { "Connection: Upgrade", "Sec-WebSocket-Accept: " + RfcAccept };
        if (upgrade is not null)
        {
            lines.Add("Upgrade: " + upgrade);
        }

        var result = Validate(Parse("HTTP/1.1 101 Switching Protocols\r\n" + string.Concat(lines.Select(l => l + "\r\n")) + "\r\n"));
        if (valid)
        {
            Assert.True(result.IsValid);
        }
        else
        {
            AssertFails(result, WebSocketResponseFailure.MissingUpgradeWebSocket);
        }
    }

    // R6455-4.1-ae: Connection must have an Upgrade element, compared ignoring case, across lines.
    [Theory]
    [InlineData(new string[0], false)]
    [InlineData(new[] { "Connection: close" }, false)]
    [InlineData(new[] { "Connection: keep-alive" }, false)]
    [InlineData(new[] { "Connection: upgraded" }, false)]
    [InlineData(new[] { "Connection: upgrade" }, true)]
    [InlineData(new[] { "Connection: UPGRADE" }, true)]
    [InlineData(new[] { "Connection: keep-alive, Upgrade" }, true)]
    [InlineData(new[] { "Connection: keep-alive", "Connection: Upgrade" }, true)]
    public void Validate_Connection(string[] connectionLines, bool valid)
    {
        var head = Parse("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nSec-WebSocket-Accept: " + RfcAccept + "\r\n"
            + string.Concat(connectionLines.Select(l => l + "\r\n")) + "\r\n");
        var result = Validate(head);
        if (valid)
        {
            Assert.True(result.IsValid);
        }
        else
        {
            AssertFails(result, WebSocketResponseFailure.MissingConnectionUpgrade);
        }
    }

    // R6455-4.1-af: exactly base64(SHA-1(key + GUID)), case-sensitive, surrounding whitespace ignored;
    // R6455-11.3-d, R6455-4.1-ai: one line only, even if both lines are right.
    [Theory]
    [InlineData(new string[0], WebSocketResponseFailure.MissingAccept)]
    [InlineData(new[] { "Sec-WebSocket-Accept: " + RfcAccept, "Sec-WebSocket-Accept: " + RfcAccept }, WebSocketResponseFailure.DuplicateAccept)]
    [InlineData(new[] { "Sec-WebSocket-Accept:" }, WebSocketResponseFailure.InvalidAccept)]
    [InlineData(new[] { "Sec-WebSocket-Accept: S3PPLMBITXAQ9KYGZZHZRBK+XOO=" }, WebSocketResponseFailure.InvalidAccept)]
    [InlineData(new[] { "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo" }, WebSocketResponseFailure.InvalidAccept)]
    [InlineData(new[] { "Sec-WebSocket-Accept: " + RfcKey }, WebSocketResponseFailure.InvalidAccept)]
    [InlineData(new[] { "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=, s3pPLMBiTxaQ9kYGzzhZRbK+xOo=" }, WebSocketResponseFailure.InvalidAccept)]
    [InlineData(new[] { "Sec-WebSocket-Accept: \t s3pPLMBiTxaQ9kYGzzhZRbK+xOo= \t" }, WebSocketResponseFailure.None)]
    [InlineData(new[] { "sec-websocket-accept: " + RfcAccept }, WebSocketResponseFailure.None)]
    public void Validate_Accept(string[] acceptLines, WebSocketResponseFailure expected)
    {
        var head = Parse("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            + string.Concat(acceptLines.Select(l => l + "\r\n")) + "\r\n");
        var result = Validate(head);
        if (expected == WebSocketResponseFailure.None)
        {
            Assert.True(result.IsValid);
        }
        else
        {
            AssertFails(result, expected);
        }
    }

    // R6455-4.1-af: the accept belongs to the key this client sent, not to any key.
    [Fact]
    public void Validate_AcceptForAnotherKey_InvalidAccept() =>
        AssertFails(WebSocketResponseValidator.Validate(Answer(), WebSocketAccept.CreateClientKey(), [], null), WebSocketResponseFailure.InvalidAccept);

    // R6455-4.1-ah: only an offered subprotocol, compared case-sensitively; the client's instance comes back.
    [Fact]
    public void Validate_OfferedSubProtocol_ClientInstanceReturned()
    {
        string[] offered = ["chat", "superchat"];
        var result = Validate(Answer("Sec-WebSocket-Protocol: superchat"), offered);
        Assert.True(result.IsValid);
        Assert.Same(offered[1], result.SubProtocol);
    }

    // RFC 6455 leaves it to the client whether to go on when the server selects none of its offers.
    [Fact]
    public void Validate_NoSubProtocolSelected_ValidWithNull()
    {
        var result = Validate(Answer(), ["chat"]);
        Assert.True(result.IsValid);
        Assert.Null(result.SubProtocol);
    }

    // R6455-4.1-ah, R6455-4.2.2-g (an empty value is not "none"), R6455-11.3-e and R6455-4.1-ai (one value, one line).
    [Theory]
    [InlineData(new string[0], new[] { "Sec-WebSocket-Protocol: chat" }, WebSocketResponseFailure.UnofferedSubProtocol)]
    [InlineData(new[] { "chat" }, new[] { "Sec-WebSocket-Protocol: Chat" }, WebSocketResponseFailure.UnofferedSubProtocol)]
    [InlineData(new[] { "chat" }, new[] { "Sec-WebSocket-Protocol: superchat" }, WebSocketResponseFailure.UnofferedSubProtocol)]
    [InlineData(new[] { "chat" }, new[] { "Sec-WebSocket-Protocol:" }, WebSocketResponseFailure.UnofferedSubProtocol)]
    [InlineData(new[] { "chat", "superchat" }, new[] { "Sec-WebSocket-Protocol: chat, superchat" }, WebSocketResponseFailure.MultipleSubProtocols)]
    [InlineData(new[] { "chat" }, new[] { "Sec-WebSocket-Protocol: chat," }, WebSocketResponseFailure.MultipleSubProtocols)]
    [InlineData(new[] { "chat" }, new[] { "Sec-WebSocket-Protocol: chat", "Sec-WebSocket-Protocol: chat" }, WebSocketResponseFailure.MultipleSubProtocols)]
    public void Validate_BadSubProtocol_Fails(string[] offered, string[] lines, WebSocketResponseFailure expected) =>
        AssertFails(Validate(Answer(lines), offered), expected);

    // R6455-4.1-ag: no extension the client did not offer, and nothing but permessage-deflate can be run.
    [Theory]
    [InlineData(false, "Sec-WebSocket-Extensions: permessage-deflate")]
    [InlineData(false, "Sec-WebSocket-Extensions: x-foo")]
    [InlineData(true, "Sec-WebSocket-Extensions: x-foo")]
    [InlineData(true, "Sec-WebSocket-Extensions: permessage-deflate, x-webkit-deflate-frame")]
    public void Validate_UnofferedExtension_Fails(bool offerDeflate, string line) =>
        AssertFails(Validate(Answer(line), deflate: offerDeflate ? UsualDeflate : null), WebSocketResponseFailure.UnofferedExtension);

    // R6455-9.1-a: a malformed Sec-WebSocket-Extensions fails the connection at once.
    [Theory]
    [InlineData("Sec-WebSocket-Extensions: permessage-deflate; server_max_window_bits=\"1 0\"")]
    [InlineData("Sec-WebSocket-Extensions: permessage-deflate; =10")]
    [InlineData("Sec-WebSocket-Extensions: permessage-deflate x")]
    [InlineData("Sec-WebSocket-Extensions: permessage-deflate; a=\"unterminated")]
    public void Validate_MalformedExtensions_Fails(string line) =>
        AssertFails(Validate(Answer(line), deflate: UsualDeflate), WebSocketResponseFailure.MalformedExtensions);

    // R7692-7-b, R7692-5-j: a permessage-deflate answer the offer does not allow; the detail is kept.
    [Theory]
    [InlineData(new[] { "Sec-WebSocket-Extensions: permessage-deflate; foo" }, PerMessageDeflateResponseError.UnknownParameter)]
    [InlineData(new[] { "Sec-WebSocket-Extensions: permessage-deflate; server_max_window_bits=16" }, PerMessageDeflateResponseError.InvalidParameterValue)]
    [InlineData(new[] { "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits" }, PerMessageDeflateResponseError.InvalidParameterValue)]
    [InlineData(new[] { "Sec-WebSocket-Extensions: permessage-deflate, permessage-deflate" }, PerMessageDeflateResponseError.DuplicateElement)]
    [InlineData(new[] { "Sec-WebSocket-Extensions: permessage-deflate", "Sec-WebSocket-Extensions: permessage-deflate" }, PerMessageDeflateResponseError.DuplicateElement)]
    public void Validate_InvalidDeflateAnswer_FailsWithDetail(string[] lines, PerMessageDeflateResponseError detail)
    {
        var result = Validate(Answer(lines), deflate: UsualDeflate);
        AssertFails(result, WebSocketResponseFailure.InvalidPerMessageDeflate);
        Assert.Equal(detail, result.DeflateError);
        Assert.Equal(PerMessageDeflateClientNegotiator.GetMessage(detail), result.Message);
        Assert.Equal(101, result.StatusCode);
    }

    // R7692-7.1.2.2-c: client_max_window_bits answered though not offered.
    [Fact]
    public void Validate_UnofferedClientWindow_FailsWithDetail()
    {
        var result = Validate(Answer("Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits=10"), deflate: default(PerMessageDeflateClientOffer));
        AssertFails(result, WebSocketResponseFailure.InvalidPerMessageDeflate);
        Assert.Equal(PerMessageDeflateResponseError.UnofferedClientMaxWindowBits, result.DeflateError);
    }

    // R7692-5-c, R7692-5-k: an accepted offer gives the parameters to run; R7692-5-i: a declined one, none. The element may
    // come split over lines with empty values beside it (RFC 6455 section 4.2.2).
    [Theory]
    [InlineData(new string[0], null)]
    [InlineData(new[] { "Sec-WebSocket-Extensions:" }, null)]
    [InlineData(new[] { "Sec-WebSocket-Extensions: permessage-deflate" }, 15)]
    [InlineData(new[] { "Sec-WebSocket-Extensions: permessage-deflate; server_max_window_bits=10" }, 10)]
    [InlineData(new[] { "Sec-WebSocket-Extensions: ", "Sec-WebSocket-Extensions: PerMessage-Deflate; server_max_window_bits=\"9\"" }, 9)]
    public void Validate_DeflateAnswer_Parameters(string[] lines, int? serverWindowBits)
    {
        var result = Validate(Answer(lines), deflate: UsualDeflate);
        Assert.True(result.IsValid, result.ToString());
        Assert.Equal(serverWindowBits, result.PerMessageDeflate?.ServerMaxWindowBits);
    }

    // An empty Sec-WebSocket-Extensions names no extension, so it is fine even when nothing was offered.
    [Fact]
    public void Validate_EmptyExtensionsWithoutOffer_Valid() =>
        Assert.True(Validate(Answer("Sec-WebSocket-Extensions:")).IsValid);

    // The request overload reads the key and the offered subprotocols from the request.
    [Fact]
    public void Validate_RequestOverload_UsesKeyAndSubProtocols()
    {
        var request = new WebSocketClientRequest { Uri = new Uri("ws://h/"), Key = RfcKey, SubProtocols = ["mqtt"] };
        var result = WebSocketResponseValidator.Validate(Answer("Sec-WebSocket-Protocol: mqtt"), request, null);
        Assert.True(result.IsValid);
        Assert.Same(request.SubProtocols[0], result.SubProtocol);

        AssertFails(
            WebSocketResponseValidator.Validate(Answer(), request with { Key = WebSocketAccept.CreateClientKey() }, null),
            WebSocketResponseFailure.InvalidAccept);
    }

    // A key the client could not have sent is the caller's bug, not the server's fault.
    [Theory]
    [InlineData("")]
    [InlineData("not a key")]
    [InlineData("AAAAAAAAAAAAAAAAAAAA")]
    public void Validate_InvalidKey_Throws(string key) =>
        Assert.Throws<ArgumentException>(() => WebSocketResponseValidator.Validate(Answer(), key, [], null));

    [Fact]
    public void Default_IsNotValid() => Assert.False(default(WebSocketResponseValidationResult).IsValid);

    // One table: every reason has its own fixed sentence, and the result's message is the table's.
    [Fact]
    public void GetMessage_EveryFailure_HasADistinctSentence()
    {
        var failures = Enum.GetValues<WebSocketResponseFailure>();
        var messages = failures.Select(WebSocketResponseValidator.GetMessage).ToList();
        Assert.All(messages, m => Assert.False(string.IsNullOrWhiteSpace(m)));
        Assert.Equal(failures.Length, messages.Distinct().Count());

        var result = Validate(Answer("Sec-WebSocket-Protocol: x"));
        Assert.Equal(WebSocketResponseValidator.GetMessage(WebSocketResponseFailure.UnofferedSubProtocol), result.Message);
        Assert.Equal("UnofferedSubProtocol (101): " + result.Message, result.ToString());
    }

    private static Http1ResponseHead Parse(string text)
    {
        var buffer = new ReadOnlySequence<byte>(Encoding.Latin1.GetBytes(text));
        Assert.Equal(Http1ParseStatus.Done, new Http1ResponseHeadParser().TryParse(ref buffer, out var head, out var error));
        Assert.Equal(Http1HeadError.None, error);
        return head!;
    }
}
