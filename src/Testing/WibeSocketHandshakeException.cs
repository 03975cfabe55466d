namespace Shockwave.Testing;

/// <summary>
/// Thrown by <see cref="WibeSocketTestClient.ConnectAsync(string, CancellationToken)"/> when the app refused the
/// handshake or answered with a 101 the client must reject. <see cref="Result"/> carries the response.
/// </summary>
public sealed class WibeSocketHandshakeException : Exception
{
    /// <summary>Creates the exception for a failed handshake.</summary>
    public WibeSocketHandshakeException(WibeSocketHandshakeResult result)
        : base(Describe(result)) => Result = result;

    /// <summary>Creates the exception with a message only.</summary>
    public WibeSocketHandshakeException()
        : base("The WebSocket handshake failed.")
    {
    }

    /// <summary>Creates the exception with a message only.</summary>
    public WibeSocketHandshakeException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception with a message and an inner exception.</summary>
    public WibeSocketHandshakeException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    /// <summary>The app's response: status, headers and body. Null only when created without one.</summary>
    public WibeSocketHandshakeResult? Result { get; }

    /// <summary>The response status, or 0 when there is no <see cref="Result"/>.</summary>
    public int StatusCode => Result?.StatusCode ?? 0;

    private static string Describe(WibeSocketHandshakeResult result)
    {
        ArgumentNullException.ThrowIfNull(result);
        return $"The WebSocket handshake failed with status {result.StatusCode}: {result.FailureReason}";
    }
}
