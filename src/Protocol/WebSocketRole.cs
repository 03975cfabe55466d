namespace Shockwave.Protocol;

/// <summary>Which end of the connection this endpoint is; it decides the masking direction (RFC 6455 section 5.1).</summary>
public enum WebSocketRole
{
    /// <summary>The accepting end: receives masked frames, sends unmasked frames.</summary>
    Server,

    /// <summary>The connecting end: receives unmasked frames, sends masked frames.</summary>
    Client,
}
