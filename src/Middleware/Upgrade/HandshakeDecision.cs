using Shockwave.Protocol.Compression;
using Shockwave.Protocol.Handshake;

namespace Shockwave.Upgrade;

/// <summary>What the handshake needs from a request, whichever entry point parsed it.</summary>
internal sealed class HandshakeRequest
{
    public required WebSocketRequestHead Head { get; init; }

    /// <summary>True for an HTTP/2 extended CONNECT (RFC 8441): no key, no Upgrade/Connection headers.</summary>
    public bool IsExtendedConnect { get; init; }

    public string? Origin { get; init; }

    /// <summary>The request's own origin (<c>scheme://host[:port]</c>), for the same-origin rule.</summary>
    public required string RequestOrigin { get; init; }

    public IReadOnlyList<string?> SubProtocolHeaders { get; init; } = [];

    public IReadOnlyList<string?> ExtensionHeaders { get; init; } = [];

    /// <summary>The endpoint requires an authenticated user, so a cross-site page must not ride on the user's cookies.</summary>
    public bool RequiresAuthorization { get; init; }
}

/// <summary>The outcome of a handshake: accepted with its negotiated parameters, or refused with a status and reason.</summary>
internal sealed class HandshakeDecision
{
    private HandshakeDecision()
    {
    }

    public bool Accepted { get; private init; }

    public int StatusCode { get; private init; }

    /// <summary>A stable reason for the log line and the metric tag.</summary>
    public string Reason { get; private init; } = "";

    public IReadOnlyList<KeyValuePair<string, string>> ResponseHeaders { get; private init; } = [];

    public string? SubProtocol { get; private init; }

    public PerMessageDeflateParameters? Compression { get; private init; }

    public string? ExtensionsResponse { get; private init; }

    public static HandshakeDecision Refuse(int statusCode, string reason, IReadOnlyList<KeyValuePair<string, string>>? headers = null) =>
        new() { StatusCode = statusCode, Reason = reason, ResponseHeaders = headers ?? [] };

    /// <summary>
    /// Validates and negotiates, the same for both entry points: RFC 6455 section 4.2.1 checks, the origin policy
    /// (section 4.2.2 lets a server refuse by origin with 403), subprotocol selection and permessage-deflate (RFC 7692).
    /// </summary>
    public static HandshakeDecision Decide(HandshakeRequest request, WibeSocketOptions options, PerMessageDeflateNegotiator? deflate)
    {
        if (!request.IsExtendedConnect)
        {
            var validation = WebSocketRequestValidator.Validate(request.Head);
            if (!validation.IsValid)
            {
                return Refuse(validation.StatusCode, validation.Failure.ToString(), validation.ResponseHeaders);
            }
        }

        if (!IsOriginAllowed(request, options))
        {
            return HandshakeRefusals.OriginNotAllowed;
        }

        string? subProtocol = options.SubProtocols.Count == 0 ? null : SubProtocols.Select(request.SubProtocolHeaders, options.SubProtocols.AsReadOnly());
        PerMessageDeflateParameters? compression = null;
        string? extensions = null;
        if (deflate is not null && request.ExtensionHeaders.Count > 0)
        {
            var negotiation = deflate.Negotiate(request.ExtensionHeaders);

            // R6455-4.2.1-a: a header that breaks the Sec-WebSocket-Extensions grammar is a malformed handshake (400).
            // A well-formed offer with parameters the server cannot take is only declined (RFC 7692 section 5).
            if (negotiation.Status == PerMessageDeflateNegotiationStatus.MalformedHeader)
            {
                return HandshakeRefusals.MalformedExtensionsHeader;
            }

            if (negotiation.IsAccepted)
            {
                compression = negotiation.Parameters;
                extensions = negotiation.ResponseHeaderValue;
            }
        }

        return new HandshakeDecision { Accepted = true, StatusCode = 101, SubProtocol = subProtocol, Compression = compression, ExtensionsResponse = extensions };
    }

    // R6455-4.2.1-S1: a request without Origin is not from a browser, so the cross-site rule does not apply to it.
    private static bool IsOriginAllowed(HandshakeRequest request, WibeSocketOptions options)
    {
        string? origin = request.Origin;
        if (string.IsNullOrEmpty(origin))
        {
            return true;
        }

        if (options.AllowedOrigins.Count > 0)
        {
            foreach (var allowed in options.AllowedOrigins)
            {
                if (allowed == "*" || string.Equals(allowed, origin, StringComparison.OrdinalIgnoreCase))
                {
                    return true;
                }
            }

            return false;
        }

        // No allow-list: any origin, except that an authenticated endpoint only takes same-origin pages
        // (cross-site WebSocket hijacking: the browser would attach the user's cookies).
        return !request.RequiresAuthorization || string.Equals(origin, request.RequestOrigin, StringComparison.OrdinalIgnoreCase);
    }
}
