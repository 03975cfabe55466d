namespace Shockwave.Protocol;

/// <summary>
/// Why a peer's input failed the connection: the close code to send (RFC 6455 section 7.4.1),
/// a stable machine-readable name for logs and metrics, and a human-readable reason that fits
/// in a close frame (at most 123 bytes of UTF-8, section 5.5).
/// </summary>
/// <param name="CloseStatus">The close code to send: 1002, 1007, 1009 and the like.</param>
/// <param name="Name">A stable identifier, for example <c>ReservedOpcode</c>; never changes between releases.</param>
/// <param name="Reason">A short ASCII explanation suitable for the close frame's reason.</param>
public readonly record struct ProtocolError(WebSocketCloseStatus CloseStatus, string Name, string Reason)
{
    /// <summary>Formats the error for logs.</summary>
    public override string ToString() => $"{Name} ({(ushort)CloseStatus}): {Reason}";
}

/// <summary>Thrown where a <see cref="ProtocolError"/> cannot be returned, such as from an API that parses a whole message.</summary>
public sealed class WebSocketProtocolException : Exception
{
    /// <summary>Creates the exception for an error.</summary>
    public WebSocketProtocolException(ProtocolError error)
        : base(error.ToString()) => Error = error;

    /// <summary>Creates an exception with a plain message and close code 1002.</summary>
    public WebSocketProtocolException()
        : this(new ProtocolError(WebSocketCloseStatus.ProtocolError, "ProtocolError", "protocol error"))
    {
    }

    /// <summary>Creates an exception with a plain message and close code 1002.</summary>
    public WebSocketProtocolException(string message)
        : this(new ProtocolError(WebSocketCloseStatus.ProtocolError, "ProtocolError", message))
    {
    }

    /// <summary>Creates an exception with a plain message, close code 1002 and an inner exception.</summary>
    public WebSocketProtocolException(string message, Exception innerException)
        : base(message, innerException) =>
        Error = new ProtocolError(WebSocketCloseStatus.ProtocolError, "ProtocolError", message);

    /// <summary>The error that failed the connection.</summary>
    public ProtocolError Error { get; }
}
