namespace Shockwave;

/// <summary>
/// What a message is, across the product: what the server's and the client's <c>ReceiveAsync</c> hand out, what a send
/// takes, and what the test client reports. The values are the frame opcodes (RFC 6455 section 5.2).
/// </summary>
public enum WibeSocketMessageType : byte
{
    /// <summary>A UTF-8 text message (RFC 6455 section 5.6), validated on receipt.</summary>
    Text = 1,

    /// <summary>A binary message.</summary>
    Binary = 2,

    /// <summary>
    /// The connection is closing: the peer sent a close frame or the connection ended. No more messages follow. Not a
    /// type that can be sent: close with <c>CloseAsync</c>.
    /// </summary>
    Close = 8,

    /// <summary>A ping frame. Only the test client, which shows control frames, reports it; the runtime answers pings itself.</summary>
    Ping = 9,

    /// <summary>A pong frame. Only the test client, which shows control frames, reports it.</summary>
    Pong = 10,
}
