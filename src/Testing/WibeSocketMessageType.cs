namespace Shockwave.Testing;

/// <summary>What a <see cref="WibeSocketTestMessage"/> is: a data message or a control frame (RFC 6455 sections 5.5 and 5.6).</summary>
public enum WibeSocketMessageType
{
    /// <summary>A text message (UTF-8, validated unless compressed).</summary>
    Text,

    /// <summary>A binary message.</summary>
    Binary,

    /// <summary>A close frame; see <see cref="WibeSocketTestMessage.CloseStatus"/> and <see cref="WibeSocketTestMessage.CloseReason"/>.</summary>
    Close,

    /// <summary>A ping frame.</summary>
    Ping,

    /// <summary>A pong frame.</summary>
    Pong,
}
