namespace Shockwave.Protocol.Handshake;

/// <summary>Why an opening handshake request was refused. The names are stable: use them in logs and metrics.</summary>
public enum HandshakeFailure
{
    /// <summary>The request is a valid WebSocket upgrade.</summary>
    None,

    /// <summary>The method is not <c>GET</c> (R6455-4.2.1-a1). Answered with 405 and <c>Allow: GET</c>.</summary>
    MethodNotGet,

    /// <summary>The request is HTTP/1.0 (R6455-4.2.1-a1); RFC 9110 section 7.8 has servers ignore Upgrade there. Answered with 400.</summary>
    HttpVersionTooLow,

    /// <summary>No <c>Host</c> header (R6455-4.2.1-a2, RFC 9112 section 3.2). Answered with 400.</summary>
    MissingHost,

    /// <summary>More than one <c>Host</c> header (RFC 9112 section 3.2). Answered with 400.</summary>
    DuplicateHost,

    /// <summary><c>Upgrade</c> is absent or has no <c>websocket</c> element (R6455-4.2.1-a3). Answered with 400.</summary>
    MissingUpgradeWebSocket,

    /// <summary><c>Connection</c> is absent or has no <c>Upgrade</c> element (R6455-4.2.1-a4). Answered with 400.</summary>
    MissingConnectionUpgrade,

    /// <summary>No <c>Sec-WebSocket-Version</c>, or an empty one (R6455-4.2.1-a6). Answered with 400.</summary>
    MissingVersion,

    /// <summary>More than one <c>Sec-WebSocket-Version</c> header (R6455-11.3-b). Answered with 400.</summary>
    DuplicateVersion,

    /// <summary>A version other than 13 (R6455-4.2.2-d, R6455-4.4-a). Answered with 426 and <c>Sec-WebSocket-Version: 13</c>.</summary>
    UnsupportedVersion,

    /// <summary>No <c>Sec-WebSocket-Key</c> (R6455-4.2.1-a5). Answered with 400.</summary>
    MissingKey,

    /// <summary>More than one <c>Sec-WebSocket-Key</c> header (R6455-11.3-a). Answered with 400.</summary>
    DuplicateKey,

    /// <summary><c>Sec-WebSocket-Key</c> is not base64 of 16 bytes (R6455-4.2.1-a5). Answered with 400.</summary>
    InvalidKey,
}

/// <summary>
/// The handshake fields a validator needs, already extracted from the request by its entry point (the ASP.NET Core
/// endpoint or the raw listener), so that both entries judge a request identically.
/// </summary>
/// <remarks>
/// List-valued fields (<see cref="Upgrade"/>, <see cref="Connection"/>) take every header line joined with commas, which
/// RFC 9110 section 5.3 makes equivalent to the separate lines. Single-valued fields take the count of header lines and
/// the value of the only one, because a repeated key or version is itself an error (RFC 6455 section 11.3).
/// </remarks>
public readonly record struct WebSocketRequestHead
{
    /// <summary>The request method, compared case-sensitively (RFC 9110 section 9.1).</summary>
    public required string Method { get; init; }

    /// <summary>True for HTTP/1.1 and later minor versions.</summary>
    public bool IsHttp11OrLater { get; init; }

    /// <summary>How many <c>Host</c> header lines the request has.</summary>
    public int HostCount { get; init; }

    /// <summary>All <c>Upgrade</c> header lines joined with commas; null when absent.</summary>
    public string? Upgrade { get; init; }

    /// <summary>All <c>Connection</c> header lines joined with commas; null when absent.</summary>
    public string? Connection { get; init; }

    /// <summary>How many <c>Sec-WebSocket-Key</c> header lines the request has.</summary>
    public int KeyCount { get; init; }

    /// <summary>The <c>Sec-WebSocket-Key</c> value when <see cref="KeyCount"/> is 1.</summary>
    public string? Key { get; init; }

    /// <summary>How many <c>Sec-WebSocket-Version</c> header lines the request has.</summary>
    public int VersionCount { get; init; }

    /// <summary>The <c>Sec-WebSocket-Version</c> value when <see cref="VersionCount"/> is 1.</summary>
    public string? Version { get; init; }
}

/// <summary>
/// The outcome of <see cref="WebSocketRequestValidator.Validate"/>: what went wrong, the HTTP status to answer, the extra
/// response headers that status requires, and a stable sentence for the log line. Instances are cached; validating allocates nothing.
/// </summary>
public sealed class HandshakeValidationResult
{
    private HandshakeValidationResult(HandshakeFailure failure, int statusCode, string reason, KeyValuePair<string, string>[] responseHeaders)
    {
        Failure = failure;
        StatusCode = statusCode;
        Reason = reason;
        ResponseHeaders = responseHeaders;
    }

    /// <summary>The check that failed, or <see cref="HandshakeFailure.None"/>.</summary>
    public HandshakeFailure Failure { get; }

    /// <summary>True when the request may be upgraded.</summary>
    public bool IsValid => Failure == HandshakeFailure.None;

    /// <summary>The status to answer: 101 when valid, else 400, 405 or 426.</summary>
    public int StatusCode { get; }

    /// <summary>A fixed English sentence naming the broken rule, for logs. Never contains request data.</summary>
    public string Reason { get; }

    /// <summary>
    /// Headers the error status obliges the server to send: <c>Allow: GET</c> with 405 (RFC 9110 section 15.5.6), and with 426
    /// <c>Sec-WebSocket-Version: 13</c> (R6455-4.4-a) plus <c>Upgrade: websocket</c> and <c>Connection: Upgrade</c> (RFC 9110
    /// sections 15.5.22 and 7.8). Empty otherwise, and for a valid request, whose 101 headers are the caller's to write.
    /// </summary>
    public IReadOnlyList<KeyValuePair<string, string>> ResponseHeaders { get; }

    /// <inheritdoc/>
    public override string ToString() => $"{Failure} ({StatusCode}): {Reason}";

    internal static readonly HandshakeValidationResult Success = new(HandshakeFailure.None, 101, "Valid WebSocket upgrade request.", []);

    internal static readonly HandshakeValidationResult MethodNotGet = new(
        HandshakeFailure.MethodNotGet, 405, "The method must be GET.", [new("Allow", "GET")]);

    internal static readonly HandshakeValidationResult HttpVersionTooLow = BadRequest(
        HandshakeFailure.HttpVersionTooLow, "The request must be HTTP/1.1 or later.");

    internal static readonly HandshakeValidationResult MissingHost = BadRequest(
        HandshakeFailure.MissingHost, "The Host header is missing.");

    internal static readonly HandshakeValidationResult DuplicateHost = BadRequest(
        HandshakeFailure.DuplicateHost, "The Host header appears more than once.");

    internal static readonly HandshakeValidationResult MissingUpgradeWebSocket = BadRequest(
        HandshakeFailure.MissingUpgradeWebSocket, "The Upgrade header must contain 'websocket'.");

    internal static readonly HandshakeValidationResult MissingConnectionUpgrade = BadRequest(
        HandshakeFailure.MissingConnectionUpgrade, "The Connection header must contain 'Upgrade'.");

    internal static readonly HandshakeValidationResult MissingVersion = BadRequest(
        HandshakeFailure.MissingVersion, "The Sec-WebSocket-Version header is missing or empty.");

    internal static readonly HandshakeValidationResult DuplicateVersion = BadRequest(
        HandshakeFailure.DuplicateVersion, "The Sec-WebSocket-Version header appears more than once.");

    internal static readonly HandshakeValidationResult UnsupportedVersion = new(
        HandshakeFailure.UnsupportedVersion,
        426,
        "The Sec-WebSocket-Version is not 13.",
        [new("Sec-WebSocket-Version", WebSocketVersion.Current), new("Upgrade", "websocket"), new("Connection", "Upgrade")]);

    internal static readonly HandshakeValidationResult MissingKey = BadRequest(
        HandshakeFailure.MissingKey, "The Sec-WebSocket-Key header is missing.");

    internal static readonly HandshakeValidationResult DuplicateKey = BadRequest(
        HandshakeFailure.DuplicateKey, "The Sec-WebSocket-Key header appears more than once.");

    internal static readonly HandshakeValidationResult InvalidKey = BadRequest(
        HandshakeFailure.InvalidKey, "The Sec-WebSocket-Key is not base64 of 16 bytes.");

    private static HandshakeValidationResult BadRequest(HandshakeFailure failure, string reason) => new(failure, 400, reason, []);
}

/// <summary>
/// Judges an HTTP/1.1 WebSocket upgrade request against RFC 6455 section 4.2.1. Pure and allocation-free; the ASP.NET Core
/// endpoint and the raw Kestrel listener both call it, so they accept and refuse exactly the same requests.
/// </summary>
/// <remarks>
/// <para>
/// Checks run in the order of section 4.2.1's list, except that the version is checked before the key: a client speaking
/// an older draft (different or missing key headers) then learns from the 426 which version to send instead of getting a
/// bare 400. The first failed check decides the answer.
/// </para>
/// <para>
/// A method other than GET gets 405 with <c>Allow: GET</c> rather than the 400 RFC 6455 permits: the resource exists and
/// only GET applies to it, which is exactly 405's meaning (RFC 9110 section 15.5.6), and it matches what endpoint routing
/// answers for a GET-only route. Origin, subprotocol and extension negotiation, routing (404) and the HTTP/2 extended
/// CONNECT form (RFC 8441) are outside this validator.
/// </para>
/// </remarks>
public static class WebSocketRequestValidator
{
    /// <summary>Validates the handshake fields of a request.</summary>
    public static HandshakeValidationResult Validate(in WebSocketRequestHead head)
    {
        // R6455-4.2.1-a1: GET, HTTP/1.1 or later. Methods are case-sensitive (RFC 9110 section 9.1).
        if (!string.Equals(head.Method, "GET", StringComparison.Ordinal))
        {
            return HandshakeValidationResult.MethodNotGet;
        }

        if (!head.IsHttp11OrLater)
        {
            return HandshakeValidationResult.HttpVersionTooLow;
        }

        // R6455-4.2.1-a2; RFC 9112 section 3.2 requires 400 for a missing or repeated Host in HTTP/1.1.
        if (head.HostCount == 0)
        {
            return HandshakeValidationResult.MissingHost;
        }

        if (head.HostCount > 1)
        {
            return HandshakeValidationResult.DuplicateHost;
        }

        // R6455-4.2.1-a3 and a4: list headers, tokens compared ignoring ASCII case.
        if (!HeaderTokens.ContainsToken(head.Upgrade, "websocket"))
        {
            return HandshakeValidationResult.MissingUpgradeWebSocket;
        }

        if (!HeaderTokens.ContainsToken(head.Connection, "Upgrade"))
        {
            return HandshakeValidationResult.MissingConnectionUpgrade;
        }

        // R6455-11.3-b, R6455-4.2.1-a6, R6455-4.2.2-d.
        if (head.VersionCount > 1)
        {
            return HandshakeValidationResult.DuplicateVersion;
        }

        var version = head.VersionCount == 1 ? WebSocketVersion.Check(head.Version) : WebSocketVersionStatus.Missing;
        if (version == WebSocketVersionStatus.Missing)
        {
            return HandshakeValidationResult.MissingVersion;
        }

        if (version == WebSocketVersionStatus.Unsupported)
        {
            return HandshakeValidationResult.UnsupportedVersion;
        }

        // R6455-11.3-a, R6455-4.2.1-a5.
        if (head.KeyCount == 0)
        {
            return HandshakeValidationResult.MissingKey;
        }

        if (head.KeyCount > 1)
        {
            return HandshakeValidationResult.DuplicateKey;
        }

        return WebSocketAccept.IsValidKey(head.Key) ? HandshakeValidationResult.Success : HandshakeValidationResult.InvalidKey;
    }
}
