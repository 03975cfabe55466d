using Shockwave.Protocol.Handshake;

namespace Shockwave.Protocol.Tests.Handshake;

public class WebSocketRequestValidatorTests
{
    private static readonly WebSocketRequestHead Valid = new()
    {
        Method = "GET",
        IsHttp11OrLater = true,
        HostCount = 1,
        Upgrade = "websocket",
        Connection = "Upgrade",
        KeyCount = 1,
        Key = "dGhlIHNhbXBsZSBub25jZQ==",
        VersionCount = 1,
        Version = "13",
    };

    [Fact]
    public void Validate_RfcSampleRequest_Valid101()
    {
        var result = WebSocketRequestValidator.Validate(Valid);
        Assert.True(result.IsValid);
        Assert.Equal(HandshakeFailure.None, result.Failure);
        Assert.Equal(101, result.StatusCode);
        Assert.Empty(result.ResponseHeaders);
    }

    // Accepted variants: case-insensitive tokens within lists (R6455-4.2.1-a3, a4), whitespace around key and version.
    public static TheoryData<string, WebSocketRequestHead> AcceptedVariants => new()
    {
        { "Upgrade: WebSocket", Valid with { Upgrade = "WebSocket" } },
        { "Upgrade list", Valid with { Upgrade = "h2c, websocket" } },
        { "Connection: keep-alive, Upgrade", Valid with { Connection = "keep-alive, Upgrade" } },
        { "Connection: upgrade", Valid with { Connection = "upgrade" } },
        { "Connection lines joined", Valid with { Connection = "keep-alive, ,upgrade" } },
        { "Key with OWS", Valid with { Key = " dGhlIHNhbXBsZSBub25jZQ==\t" } },
        { "Version with OWS", Valid with { Version = " 13 " } },
    };

    [Theory]
    [MemberData(nameof(AcceptedVariants))]
    public void Validate_AcceptedVariant_Valid(string scenario, WebSocketRequestHead head)
    {
        var result = WebSocketRequestValidator.Validate(head);
        Assert.True(result.IsValid, scenario);
    }

    // Every failure kind and the status it answers (R6455-4.2.1-a: an HTTP error, no upgrade).
    public static TheoryData<WebSocketRequestHead, HandshakeFailure, int> Failures => new()
    {
        // R6455-4.2.1-a1: GET only (405, methods are case-sensitive), HTTP/1.1 or later.
        { Valid with { Method = "POST" }, HandshakeFailure.MethodNotGet, 405 },
        { Valid with { Method = "get" }, HandshakeFailure.MethodNotGet, 405 },
        { Valid with { Method = "HEAD" }, HandshakeFailure.MethodNotGet, 405 },
        { Valid with { Method = null! }, HandshakeFailure.MethodNotGet, 405 },
        { Valid with { IsHttp11OrLater = false }, HandshakeFailure.HttpVersionTooLow, 400 },
        // R6455-4.2.1-a2 and RFC 9112 section 3.2.
        { Valid with { HostCount = 0 }, HandshakeFailure.MissingHost, 400 },
        { Valid with { HostCount = 2 }, HandshakeFailure.DuplicateHost, 400 },
        // R6455-4.2.1-a3.
        { Valid with { Upgrade = null }, HandshakeFailure.MissingUpgradeWebSocket, 400 },
        { Valid with { Upgrade = "" }, HandshakeFailure.MissingUpgradeWebSocket, 400 },
        { Valid with { Upgrade = "h2c" }, HandshakeFailure.MissingUpgradeWebSocket, 400 },
        { Valid with { Upgrade = "websocket/13" }, HandshakeFailure.MissingUpgradeWebSocket, 400 },
        // R6455-4.2.1-a4.
        { Valid with { Connection = null }, HandshakeFailure.MissingConnectionUpgrade, 400 },
        { Valid with { Connection = "close" }, HandshakeFailure.MissingConnectionUpgrade, 400 },
        { Valid with { Connection = "keep-alive" }, HandshakeFailure.MissingConnectionUpgrade, 400 },
        // R6455-4.2.1-a6, R6455-11.3-b, R6455-4.2.2-d.
        { Valid with { VersionCount = 0, Version = null }, HandshakeFailure.MissingVersion, 400 },
        { Valid with { Version = "" }, HandshakeFailure.MissingVersion, 400 },
        { Valid with { VersionCount = 2 }, HandshakeFailure.DuplicateVersion, 400 },
        { Valid with { Version = "8" }, HandshakeFailure.UnsupportedVersion, 426 },
        { Valid with { Version = "25" }, HandshakeFailure.UnsupportedVersion, 426 },
        // R6455-4.2.1-a5, R6455-11.3-a.
        { Valid with { KeyCount = 0, Key = null }, HandshakeFailure.MissingKey, 400 },
        { Valid with { KeyCount = 2 }, HandshakeFailure.DuplicateKey, 400 },
        { Valid with { Key = null }, HandshakeFailure.InvalidKey, 400 },
        { Valid with { Key = "AAAAAAAAAAAAAAAAAAAA" }, HandshakeFailure.InvalidKey, 400 },
        { Valid with { Key = "AAAAAAAAAAAAAAAAAAAAAAA=" }, HandshakeFailure.InvalidKey, 400 },
        { Valid with { Key = "not base64 at all!!!!!==" }, HandshakeFailure.InvalidKey, 400 },
    };

    [Theory]
    [MemberData(nameof(Failures))]
    public void Validate_BrokenRule_FailureAndStatus(WebSocketRequestHead head, HandshakeFailure failure, int status)
    {
        var result = WebSocketRequestValidator.Validate(head);
        Assert.False(result.IsValid);
        Assert.Equal(failure, result.Failure);
        Assert.Equal(status, result.StatusCode);
        Assert.False(string.IsNullOrWhiteSpace(result.Reason));
        Assert.Contains(failure.ToString(), result.ToString(), StringComparison.Ordinal);
    }

    // Every failure kind is reachable and has its own reason sentence.
    [Fact]
    public void Validate_AllFailureKinds_CoveredWithDistinctReasons()
    {
        var reasons = new Dictionary<HandshakeFailure, string>();
        foreach (var row in Failures)
        {
            var result = WebSocketRequestValidator.Validate((WebSocketRequestHead)row[0]);
            reasons[result.Failure] = result.Reason;
        }

        var expected = Enum.GetValues<HandshakeFailure>().Where(f => f != HandshakeFailure.None);
        Assert.Equal(expected.Order(), reasons.Keys.Order());
        Assert.Equal(reasons.Count, reasons.Values.Distinct().Count());
    }

    // RFC 9110 section 15.5.6: a 405 names the allowed methods.
    [Fact]
    public void Validate_Post_AllowGetHeader()
    {
        var result = WebSocketRequestValidator.Validate(Valid with { Method = "POST" });
        Assert.Equal([new("Allow", "GET")], result.ResponseHeaders);
    }

    // R6455-4.2.2-d, R6455-4.4-a: the 426 lists version 13; RFC 9110 sections 15.5.22 and 7.8 add Upgrade and Connection.
    [Fact]
    public void Validate_Version8_426WithSupportedVersion()
    {
        var result = WebSocketRequestValidator.Validate(Valid with { Version = "8" });
        Assert.Equal(
            [new("Sec-WebSocket-Version", "13"), new("Upgrade", "websocket"), new("Connection", "Upgrade")],
            result.ResponseHeaders);
    }

    [Theory]
    [MemberData(nameof(Failures))]
    public void Validate_BadRequestFailures_NoExtraHeaders(WebSocketRequestHead head, HandshakeFailure failure, int status)
    {
        var result = WebSocketRequestValidator.Validate(head);
        Assert.Equal(failure, result.Failure);
        if (status == 400)
        {
            Assert.Empty(result.ResponseHeaders);
        }
        else
        {
            Assert.NotEmpty(result.ResponseHeaders);
        }
    }

    // The first broken rule decides: method before everything, version before key so an old client learns to send 13.
    [Fact]
    public void Validate_PostWithNothingElse_MethodWins()
    {
        var head = new WebSocketRequestHead { Method = "POST" };
        Assert.Equal(HandshakeFailure.MethodNotGet, WebSocketRequestValidator.Validate(head).Failure);
    }

    [Fact]
    public void Validate_OldDraftVersionWithoutKey_426NotMissingKey()
    {
        var head = Valid with { Version = "8", KeyCount = 0, Key = null };
        Assert.Equal(HandshakeFailure.UnsupportedVersion, WebSocketRequestValidator.Validate(head).Failure);
    }

    [Fact]
    public void Validate_Http10WithoutHost_VersionWins()
    {
        var head = Valid with { IsHttp11OrLater = false, HostCount = 0 };
        Assert.Equal(HandshakeFailure.HttpVersionTooLow, WebSocketRequestValidator.Validate(head).Failure);
    }

    [Fact]
    public void Validate_Warm_AllocatesNothing()
    {
        var bad = Valid with { Version = "8" };
        Assert.True(WebSocketRequestValidator.Validate(Valid).IsValid);
        Assert.False(WebSocketRequestValidator.Validate(bad).IsValid);
        long before = GC.GetAllocatedBytesForCurrentThread();
        var ok = WebSocketRequestValidator.Validate(Valid);
        var refused = WebSocketRequestValidator.Validate(bad);
        Assert.Equal(before, GC.GetAllocatedBytesForCurrentThread());
        Assert.True(ok.IsValid);
        Assert.Equal(426, refused.StatusCode);
    }
}
