namespace Shockwave.Protocol;

/// <summary>The two kinds of data message (RFC 6455 section 5.6).</summary>
public enum WebSocketMessageKind : byte
{
    /// <summary>UTF-8 text.</summary>
    Text = 1,

    /// <summary>Arbitrary bytes.</summary>
    Binary = 2,
}
