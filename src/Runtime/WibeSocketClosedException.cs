namespace Shockwave;

/// <summary>
/// A send was attempted after the connection started closing (RFC 6455 section 5.5.1: no data after a close frame).
/// A handler racing the peer's close sees this; the runtime treats it as an ordinary end of the connection, not as a
/// handler failure.
/// </summary>
public sealed class WibeSocketClosedException : InvalidOperationException
{
    /// <summary>Creates the exception for a connection in <paramref name="state"/>.</summary>
    public WibeSocketClosedException(WibeSocketState state)
        : base($"The WebSocket cannot send data in state {state} (RFC 6455 section 5.5.1: no data after a close frame).") => State = state;

    /// <summary>Creates the exception with a message.</summary>
    public WibeSocketClosedException()
        : this(WibeSocketState.Closed)
    {
    }

    /// <summary>Creates the exception with a message.</summary>
    public WibeSocketClosedException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception with a message and an inner exception.</summary>
    public WibeSocketClosedException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    /// <summary>The connection's state when the send was refused.</summary>
    public WibeSocketState State { get; }
}
