namespace Shockwave;

/// <summary>The life cycle of a connection (RFC 6455 sections 4 and 7).</summary>
public enum WibeSocketState
{
    /// <summary>The opening handshake is done; messages flow both ways.</summary>
    Open,

    /// <summary>This side sent a close frame and waits for the peer's.</summary>
    CloseSent,

    /// <summary>The peer sent a close frame; this side is answering.</summary>
    CloseReceived,

    /// <summary>The close handshake completed.</summary>
    Closed,

    /// <summary>The connection was torn down without a complete close handshake.</summary>
    Aborted,
}
