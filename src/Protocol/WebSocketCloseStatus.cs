namespace Shockwave.Protocol;

/// <summary>
/// Close status codes (RFC 6455 section 7.4.1 and the IANA "WebSocket Close Code Number" registry).
/// Any <see cref="ushort"/> may be cast to this type; <see cref="CloseStatusRules"/> says which are legal on the wire.
/// </summary>
#pragma warning disable CA1028 // the wire format is an unsigned 16-bit integer
public enum WebSocketCloseStatus : ushort
#pragma warning restore CA1028
{
    /// <summary>1000: the purpose of the connection was fulfilled.</summary>
    NormalClosure = 1000,

    /// <summary>1001: the endpoint is going away (server shutdown, page navigation).</summary>
    EndpointUnavailable = 1001,

    /// <summary>1002: the peer broke the protocol.</summary>
    ProtocolError = 1002,

    /// <summary>1003: a data type the endpoint cannot accept.</summary>
    UnsupportedData = 1003,

    /// <summary>1005: reserved, never on the wire; reported when a close frame had no status code.</summary>
    NoStatusReceived = 1005,

    /// <summary>1006: reserved, never on the wire; reported when the connection closed without a close frame.</summary>
    AbnormalClosure = 1006,

    /// <summary>1007: data inconsistent with the message type, such as invalid UTF-8 in a text message.</summary>
    InvalidPayloadData = 1007,

    /// <summary>1008: a message that violates the endpoint's policy.</summary>
    PolicyViolation = 1008,

    /// <summary>1009: a frame or message too big to process.</summary>
    MessageTooBig = 1009,

    /// <summary>1010: the client expected an extension the server did not negotiate (sent by clients only).</summary>
    MandatoryExtension = 1010,

    /// <summary>1011: an unexpected condition on the server.</summary>
    InternalServerError = 1011,

    /// <summary>1012: the service is restarting (IANA registry).</summary>
    ServiceRestart = 1012,

    /// <summary>1013: try again later (IANA registry).</summary>
    TryAgainLater = 1013,

    /// <summary>1014: a gateway received an invalid response (IANA registry).</summary>
    BadGateway = 1014,

    /// <summary>1015: reserved, never on the wire; reported when the TLS handshake failed.</summary>
    TlsHandshakeFailure = 1015,
}

/// <summary>Close-code validity, written once (RFC 6455 sections 7.4.1 and 7.4.2).</summary>
public static class CloseStatusRules
{
    /// <summary>
    /// True if a close frame may carry <paramref name="code"/>: 1000-1003, 1007-1011 and the IANA-registered
    /// 1012-1014 (section 7.4.1), or the registered/private ranges 3000-4999 (section 7.4.2).
    /// 0-999 are unused, 1004 is reserved, and 1005, 1006 and 1015 are for reporting only and MUST NOT be sent.
    /// </summary>
    public static bool IsValidOnWire(ushort code) => code switch
    {
        >= 1000 and <= 1003 => true,
        >= 1007 and <= 1014 => true,
        >= 3000 and <= 4999 => true,
        _ => false,
    };

    /// <inheritdoc cref="IsValidOnWire(ushort)"/>
    public static bool IsValidOnWire(WebSocketCloseStatus status) => IsValidOnWire((ushort)status);
}
