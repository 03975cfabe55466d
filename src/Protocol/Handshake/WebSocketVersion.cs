namespace Shockwave.Protocol.Handshake;

/// <summary>What a request's <c>Sec-WebSocket-Version</c> value means for the handshake.</summary>
public enum WebSocketVersionStatus
{
    /// <summary>No version (absent or empty): the request is malformed, answer 400 (R6455-4.2.1-a6).</summary>
    Missing,

    /// <summary>Version 13, the one this library speaks.</summary>
    Supported,

    /// <summary>
    /// Any other value: answer 426 with <c>Sec-WebSocket-Version: 13</c> so the client can retry with a version the
    /// server understands (R6455-4.2.2-d, R6455-4.4-a).
    /// </summary>
    Unsupported,
}

/// <summary>The WebSocket protocol version check (RFC 6455 sections 4.2.1, 4.2.2 and 4.4).</summary>
public static class WebSocketVersion
{
    /// <summary>The only version RFC 6455 defines and this library speaks; also the value to list in a 426 response.</summary>
    public const string Current = "13";

    /// <summary>Classifies one <c>Sec-WebSocket-Version</c> value, surrounding optional whitespace ignored.</summary>
    /// <remarks>
    /// The comparison is exact: <c>013</c> or <c>13, 8</c> are not the ABNF's <c>version = "13"</c> and get the 426 that
    /// tells the client which version to send. Duplicate header lines (R6455-11.3-b) are the caller's to count.
    /// </remarks>
    public static WebSocketVersionStatus Check(ReadOnlySpan<char> value)
    {
        value = HeaderTokens.TrimOws(value);
        if (value.IsEmpty)
        {
            return WebSocketVersionStatus.Missing;
        }

        return value.SequenceEqual(Current) ? WebSocketVersionStatus.Supported : WebSocketVersionStatus.Unsupported;
    }
}
