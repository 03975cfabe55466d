using Shockwave.Protocol.Compression;

namespace Shockwave.Protocol.Handshake;

/// <summary>
/// Why a client refused the server's answer to its opening handshake. Every value but <see cref="None"/> fails the
/// connection (RFC 6455 section 4.1, R6455-4.1-ac). The names are stable: use them in logs and metrics.
/// </summary>
public enum WebSocketResponseFailure
{
    /// <summary>The answer accepts the WebSocket.</summary>
    None,

    /// <summary>
    /// The status is not 101 (RFC 6455 section 4.1): the server refused, redirected or asked for authentication.
    /// <see cref="WebSocketResponseValidationResult.StatusCode"/> tells which: a 4xx will not change on retry, a 5xx may.
    /// </summary>
    UnexpectedStatusCode,

    /// <summary><c>Upgrade</c> is absent or has no <c>websocket</c> element, ignoring case (R6455-4.1-ad).</summary>
    MissingUpgradeWebSocket,

    /// <summary><c>Connection</c> is absent or has no <c>Upgrade</c> element, ignoring case (R6455-4.1-ae).</summary>
    MissingConnectionUpgrade,

    /// <summary>No <c>Sec-WebSocket-Accept</c> (R6455-4.1-af).</summary>
    MissingAccept,

    /// <summary>More than one <c>Sec-WebSocket-Accept</c> line (R6455-11.3-d, R6455-4.1-ai).</summary>
    DuplicateAccept,

    /// <summary><c>Sec-WebSocket-Accept</c> is not base64(SHA-1(key + GUID)) for the key sent (R6455-4.1-af).</summary>
    InvalidAccept,

    /// <summary><c>Sec-WebSocket-Extensions</c> breaks the header grammar (R6455-9.1-a).</summary>
    MalformedExtensions,

    /// <summary>
    /// An extension the client did not offer (R6455-4.1-ag, R6455-9.1-e). Only permessage-deflate is understood, so any
    /// other name fails too, even one the caller put in <see cref="WebSocketClientRequest.Extensions"/> itself.
    /// </summary>
    UnofferedExtension,

    /// <summary>
    /// The permessage-deflate element is not an acceptable answer to the offer (R7692-7-b, R7692-5-j);
    /// <see cref="WebSocketResponseValidationResult.DeflateError"/> says why.
    /// </summary>
    InvalidPerMessageDeflate,

    /// <summary>
    /// More than one <c>Sec-WebSocket-Protocol</c> line, or a list in one (R6455-11.3-e, R6455-4.1-ai): the server
    /// selects one subprotocol at most (RFC 6455 section 4.2.2).
    /// </summary>
    MultipleSubProtocols,

    /// <summary>A subprotocol the client did not offer, compared case-sensitively; an empty value included (R6455-4.1-ah, R6455-4.2.2-g).</summary>
    UnofferedSubProtocol,
}

/// <summary>
/// The outcome of <see cref="WebSocketResponseValidator.Validate(Http1ResponseHead, string, IReadOnlyList{string}, PerMessageDeflateClientOffer?)"/>:
/// on success what was negotiated, on failure a stable reason and a sentence for the log.
/// </summary>
public readonly record struct WebSocketResponseValidationResult
{
    private WebSocketResponseValidationResult(
        WebSocketResponseFailure failure,
        int statusCode,
        string? subProtocol,
        PerMessageDeflateParameters? perMessageDeflate,
        PerMessageDeflateResponseError deflateError)
    {
        Failure = failure;
        StatusCode = statusCode;
        SubProtocol = subProtocol;
        PerMessageDeflate = perMessageDeflate;
        DeflateError = deflateError;
    }

    /// <summary>The check that failed, or <see cref="WebSocketResponseFailure.None"/>.</summary>
    public WebSocketResponseFailure Failure { get; }

    /// <summary>True when the connection is open: the answer passed every check. False for a <c>default</c> instance.</summary>
    public bool IsValid => Failure == WebSocketResponseFailure.None && StatusCode == 101;

    /// <summary>The answer's status code, whatever the outcome.</summary>
    public int StatusCode { get; }

    /// <summary>
    /// The subprotocol the server selected, as the client's own string instance, or <see langword="null"/> when it selected
    /// none: RFC 6455 leaves it to the client whether to go on without one.
    /// </summary>
    public string? SubProtocol { get; }

    /// <summary>
    /// The parameters to run permessage-deflate with, from the client's side (see <see cref="PerMessageDeflateClientNegotiator"/>),
    /// or <see langword="null"/> when it was not agreed and messages go uncompressed.
    /// </summary>
    public PerMessageDeflateParameters? PerMessageDeflate { get; }

    /// <summary>The detail of <see cref="WebSocketResponseFailure.InvalidPerMessageDeflate"/>; <see cref="PerMessageDeflateResponseError.None"/> otherwise.</summary>
    public PerMessageDeflateResponseError DeflateError { get; }

    /// <summary>A fixed English sentence naming the broken rule, for logs. Never contains response data.</summary>
    public string Message => Failure == WebSocketResponseFailure.InvalidPerMessageDeflate
        ? PerMessageDeflateClientNegotiator.GetMessage(DeflateError)
        : WebSocketResponseValidator.GetMessage(Failure);

    /// <inheritdoc/>
    public override string ToString() => $"{Failure} ({StatusCode}): {Message}";

    internal static WebSocketResponseValidationResult Success(string? subProtocol, PerMessageDeflateParameters? perMessageDeflate) =>
        new(WebSocketResponseFailure.None, 101, subProtocol, perMessageDeflate, PerMessageDeflateResponseError.None);

    internal static WebSocketResponseValidationResult Fail(WebSocketResponseFailure failure, int statusCode) =>
        new(failure, statusCode, null, null, PerMessageDeflateResponseError.None);

    internal static WebSocketResponseValidationResult FailDeflate(PerMessageDeflateResponseError error) =>
        new(WebSocketResponseFailure.InvalidPerMessageDeflate, 101, null, null, error);
}

/// <summary>
/// Judges the server's answer to a client's opening handshake (RFC 6455 section 4.1, the client's side of section 4.2.2):
/// the client's counterpart of <see cref="WebSocketRequestValidator"/>.
/// </summary>
/// <remarks>
/// <para>
/// Checks run in the order of section 4.1's list, and the first failure decides: the status is 101; <c>Upgrade</c>
/// contains <c>websocket</c> and <c>Connection</c> contains <c>Upgrade</c>, as list elements ignoring case (R6455-4.1-ad,
/// ae); exactly one <c>Sec-WebSocket-Accept</c>, equal to the value the key calls for with surrounding whitespace ignored
/// (R6455-4.1-af, R6455-11.3-d); extensions only as offered, and a permessage-deflate element acceptable to
/// <see cref="PerMessageDeflateClientNegotiator"/> (R6455-4.1-ag, R7692-7-b); at most one subprotocol, one the client
/// offered (R6455-4.1-ah, R6455-11.3-e).
/// </para>
/// <para>
/// <c>Sec-WebSocket-Extensions</c> may come on several lines: RFC 6455 section 4.2.2 allows the split that section 11.3.2
/// then forbids, and reading the lines as one list loses nothing. Other headers, and the reason phrase, are not judged.
/// Nothing here reads the body: after a 101 the bytes that follow the head are WebSocket frames.
/// </para>
/// </remarks>
public static class WebSocketResponseValidator
{
    /// <summary>Validates <paramref name="response"/> against what the client sent.</summary>
    /// <param name="response">The parsed answer.</param>
    /// <param name="key">The <c>Sec-WebSocket-Key</c> the client sent.</param>
    /// <param name="offeredSubProtocols">The subprotocols the client offered; empty for none.</param>
    /// <param name="deflateOffer">The permessage-deflate offer the client sent, or <see langword="null"/> if it offered none.</param>
    /// <exception cref="ArgumentException"><paramref name="key"/> is not a valid key: the client could not have sent it.</exception>
    public static WebSocketResponseValidationResult Validate(
        Http1ResponseHead response,
        string key,
        IReadOnlyList<string> offeredSubProtocols,
        PerMessageDeflateClientOffer? deflateOffer)
    {
        ArgumentNullException.ThrowIfNull(response);
        ArgumentNullException.ThrowIfNull(key);
        ArgumentNullException.ThrowIfNull(offeredSubProtocols);
        if (!WebSocketAccept.IsValidKey(key))
        {
            throw new ArgumentException("Sec-WebSocket-Key must be base64 of 16 bytes.", nameof(key));
        }

        int status = response.StatusCode;
        var headers = response.Headers;

        // Section 4.1: anything but 101 is handled "per HTTP procedures" (a redirect, 401), and is a failed handshake here.
        if (status != 101)
        {
            return WebSocketResponseValidationResult.Fail(WebSocketResponseFailure.UnexpectedStatusCode, status);
        }

        // R6455-4.1-ad, ae: list headers, tokens compared ignoring ASCII case.
        if (!HeaderTokens.ContainsToken(headers.GetCombinedValue("Upgrade"), "websocket"))
        {
            return WebSocketResponseValidationResult.Fail(WebSocketResponseFailure.MissingUpgradeWebSocket, status);
        }

        if (!HeaderTokens.ContainsToken(headers.GetCombinedValue("Connection"), "Upgrade"))
        {
            return WebSocketResponseValidationResult.Fail(WebSocketResponseFailure.MissingConnectionUpgrade, status);
        }

        // R6455-4.1-af, R6455-11.3-d: exactly one accept, which proves the server read this handshake.
        int acceptCount = headers.GetCount("Sec-WebSocket-Accept");
        if (acceptCount != 1)
        {
            return WebSocketResponseValidationResult.Fail(
                acceptCount == 0 ? WebSocketResponseFailure.MissingAccept : WebSocketResponseFailure.DuplicateAccept, status);
        }

        if (!WebSocketAccept.IsExpectedAccept(key, headers.GetFirstValue("Sec-WebSocket-Accept")))
        {
            return WebSocketResponseValidationResult.Fail(WebSocketResponseFailure.InvalidAccept, status);
        }

        var extensionFailure = CheckExtensions(headers, deflateOffer, out var deflate, out var deflateError);
        if (extensionFailure == WebSocketResponseFailure.InvalidPerMessageDeflate)
        {
            return WebSocketResponseValidationResult.FailDeflate(deflateError);
        }

        if (extensionFailure != WebSocketResponseFailure.None)
        {
            return WebSocketResponseValidationResult.Fail(extensionFailure, status);
        }

        var subProtocolFailure = CheckSubProtocol(headers, offeredSubProtocols, out string? subProtocol);
        return subProtocolFailure == WebSocketResponseFailure.None
            ? WebSocketResponseValidationResult.Success(subProtocol, deflate)
            : WebSocketResponseValidationResult.Fail(subProtocolFailure, status);
    }

    /// <summary>
    /// Validates <paramref name="response"/> against <paramref name="request"/>: its key and subprotocols, and
    /// <paramref name="deflateOffer"/>, which must be the offer whose <see cref="PerMessageDeflateClientOffer.ToHeaderValue"/>
    /// went into <see cref="WebSocketClientRequest.Extensions"/>.
    /// </summary>
    /// <exception cref="ArgumentException">The request's key is not a valid key.</exception>
    public static WebSocketResponseValidationResult Validate(Http1ResponseHead response, WebSocketClientRequest request, PerMessageDeflateClientOffer? deflateOffer)
    {
        ArgumentNullException.ThrowIfNull(request);
        return Validate(response, request.Key, request.SubProtocols, deflateOffer);
    }

    /// <summary>A fixed English sentence for <paramref name="failure"/>, for logs. Never contains response data.</summary>
    public static string GetMessage(WebSocketResponseFailure failure) => failure switch
    {
        WebSocketResponseFailure.None => "The server accepted the WebSocket handshake.",
        WebSocketResponseFailure.UnexpectedStatusCode => "The server answered with a status other than 101 Switching Protocols.",
        WebSocketResponseFailure.MissingUpgradeWebSocket => "The Upgrade header of the answer must contain 'websocket'.",
        WebSocketResponseFailure.MissingConnectionUpgrade => "The Connection header of the answer must contain 'Upgrade'.",
        WebSocketResponseFailure.MissingAccept => "The Sec-WebSocket-Accept header is missing.",
        WebSocketResponseFailure.DuplicateAccept => "The Sec-WebSocket-Accept header appears more than once.",
        WebSocketResponseFailure.InvalidAccept => "The Sec-WebSocket-Accept value does not match the key sent.",
        WebSocketResponseFailure.MalformedExtensions => "The Sec-WebSocket-Extensions header of the answer is malformed.",
        WebSocketResponseFailure.UnofferedExtension => "The answer accepts an extension the client did not offer.",
        WebSocketResponseFailure.InvalidPerMessageDeflate => "The answer's permessage-deflate parameters are not acceptable.",
        WebSocketResponseFailure.MultipleSubProtocols => "The answer selects more than one subprotocol.",
        WebSocketResponseFailure.UnofferedSubProtocol => "The answer selects a subprotocol the client did not offer.",
        _ => throw new ArgumentOutOfRangeException(nameof(failure), failure, "Unknown failure."),
    };

    private static WebSocketResponseFailure CheckExtensions(
        Http1HeaderCollection headers,
        PerMessageDeflateClientOffer? deflateOffer,
        out PerMessageDeflateParameters? deflate,
        out PerMessageDeflateResponseError deflateError)
    {
        deflate = null;
        deflateError = PerMessageDeflateResponseError.None;
        List<string?>? lines = null;
        foreach (var (name, value) in headers)
        {
            if (name.Equals("Sec-WebSocket-Extensions", StringComparison.OrdinalIgnoreCase))
            {
                (lines ??= []).Add(value);
            }
        }

        if (lines is null)
        {
            return WebSocketResponseFailure.None;
        }

        if (!WebSocketExtensionParser.TryParse(lines, out var elements))
        {
            return WebSocketResponseFailure.MalformedExtensions;
        }

        // R6455-4.1-ag: only what was offered, and permessage-deflate is all this client can offer and run.
        foreach (var element in elements)
        {
            if (deflateOffer is null || !element.Name.Equals(PerMessageDeflateNegotiator.ExtensionName, StringComparison.OrdinalIgnoreCase))
            {
                return WebSocketResponseFailure.UnofferedExtension;
            }
        }

        if (deflateOffer is not { } offer)
        {
            // Lines with empty values only: no extension accepted.
            return WebSocketResponseFailure.None;
        }

        deflateError = PerMessageDeflateClientNegotiator.Accept(offer, elements, out deflate);
        return deflateError == PerMessageDeflateResponseError.None ? WebSocketResponseFailure.None : WebSocketResponseFailure.InvalidPerMessageDeflate;
    }

    private static WebSocketResponseFailure CheckSubProtocol(Http1HeaderCollection headers, IReadOnlyList<string> offered, out string? subProtocol)
    {
        subProtocol = null;
        int count = headers.GetCount("Sec-WebSocket-Protocol");
        if (count == 0)
        {
            return WebSocketResponseFailure.None;
        }

        // R6455-11.3-e: one line; section 4.2.2: one value, not a list.
        string value = headers.GetFirstValue("Sec-WebSocket-Protocol")!;
        if (count > 1 || value.Contains(',', StringComparison.Ordinal))
        {
            return WebSocketResponseFailure.MultipleSubProtocols;
        }

        // R6455-4.1-ah: exactly one of the offered names, case-sensitively, as a browser compares. The client's own
        // instance is returned so the connection does not keep the response's strings alive.
        foreach (var name in offered)
        {
            if (string.Equals(name, value, StringComparison.Ordinal))
            {
                subProtocol = name;
                return WebSocketResponseFailure.None;
            }
        }

        return WebSocketResponseFailure.UnofferedSubProtocol;
    }
}
