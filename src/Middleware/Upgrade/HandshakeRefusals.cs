using Shockwave.Protocol.Handshake;

namespace Shockwave.Upgrade;

/// <summary>
/// Every refusal the server's own rules make, once, with its status, its stable reason (the log line and the
/// <c>shockwave.rejection_reason</c> metric tag) and its headers; both entry points answer from this table. The protocol
/// validator's refusals (RFC 6455 section 4.2.1) carry their own status and reason from <see cref="WebSocketRequestValidator"/>.
/// </summary>
internal static class HandshakeRefusals
{
    /// <summary>A plain HTTP request to a WebSocket-only endpoint: 426 names the protocol to upgrade to (RFC 9110 section 15.5.22).</summary>
    public static readonly HandshakeDecision NotAWebSocketRequest = HandshakeDecision.Refuse(426, "NotAWebSocketRequest", [new("Upgrade", "websocket"), new("Sec-WebSocket-Version", WebSocketVersion.Current)]);

    /// <summary>An HTTP/2 extended CONNECT for another protocol than websocket (RFC 8441 section 4).</summary>
    public static readonly HandshakeDecision UnsupportedConnectProtocol = HandshakeDecision.Refuse(400, "UnsupportedConnectProtocol");

    /// <summary>A request with a body (Content-Length or Transfer-Encoding): nothing can follow it on an upgraded connection.</summary>
    public static readonly HandshakeDecision NotUpgradable = HandshakeDecision.Refuse(400, "NotUpgradable");

    /// <summary>Kestrel's <c>MaxConcurrentUpgradedConnections</c> is reached: 503, not Kestrel's 500 (platform notes 1.4).</summary>
    public static readonly HandshakeDecision UpgradeLimitReached = HandshakeDecision.Refuse(503, "UpgradeLimitReached");

    /// <summary>The host is stopping: the listener answers 503 while it is still open.</summary>
    public static readonly HandshakeDecision ServerStopping = HandshakeDecision.Refuse(503, "ServerStopping");

    /// <summary>A cross-origin request the origin policy refuses (RFC 6455 section 4.2.2 allows 403 by origin).</summary>
    public static readonly HandshakeDecision OriginNotAllowed = HandshakeDecision.Refuse(403, "OriginNotAllowed");

    /// <summary>A <c>Sec-WebSocket-Extensions</c> header that does not parse (RFC 6455 section 9.1).</summary>
    public static readonly HandshakeDecision MalformedExtensionsHeader = HandshakeDecision.Refuse(400, "MalformedExtensionsHeader");

    /// <summary>Raw listener: a request target that is not an origin-form path.</summary>
    public static readonly HandshakeDecision InvalidRequestTarget = HandshakeDecision.Refuse(400, "InvalidRequestTarget");

    /// <summary>Raw listener: no endpoint is mapped at the path.</summary>
    public static readonly HandshakeDecision NoEndpoint = HandshakeDecision.Refuse(404, "NoEndpoint");

    /// <summary>Raw listener: no complete request head within the handshake timeout.</summary>
    public static readonly HandshakeDecision HandshakeTimeout = HandshakeDecision.Refuse(408, "HandshakeTimeout");
}
