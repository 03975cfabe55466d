using Shockwave.Protocol.Handshake;

namespace Shockwave.Client;

/// <summary>
/// The server's answer to the opening handshake was not a WebSocket the client may use (RFC 6455 section 4.1): a status
/// other than 101, a 101 that fails a check (<see cref="Failure"/>), or bytes that are not an HTTP/1.1 response at all
/// (<see cref="HeadError"/>). The client closed the TCP connection; nothing was sent on it after the request.
/// </summary>
public sealed class WibeSocketUpgradeException : Exception
{
    /// <summary>Creates the exception with a message only.</summary>
    public WibeSocketUpgradeException()
        : base("The WebSocket handshake failed.")
    {
    }

    /// <summary>Creates the exception with a message only.</summary>
    public WibeSocketUpgradeException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception with a message and an inner exception.</summary>
    public WibeSocketUpgradeException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    internal WibeSocketUpgradeException(Uri uri, WebSocketResponseValidationResult result, Http1ResponseHead response)
        : base(Describe(uri, result, response))
    {
        Failure = result.Failure;
        StatusCode = response.StatusCode;
        ReasonPhrase = response.ReasonPhrase;
        ResponseHeaders = response.Headers;
    }

    internal WibeSocketUpgradeException(Uri uri, Http1ParseStatus status, Http1HeadError error)
        : base(status == Http1ParseStatus.HeadTooLarge
            ? $"The answer of {uri.GetLeftPart(UriPartial.Path)} to the WebSocket handshake has no end of head within the size limit: it is not an HTTP/1.1 response."
            : $"The answer of {uri.GetLeftPart(UriPartial.Path)} to the WebSocket handshake is not an HTTP/1.1 response ({error}).")
    {
        HeadError = error == Http1HeadError.None ? Http1HeadError.HeadTooLarge : error;
    }

    internal WibeSocketUpgradeException(Uri uri, bool endOfStream)
        : base(endOfStream
            ? $"{uri.GetLeftPart(UriPartial.Path)} closed the connection before answering the WebSocket handshake."
            : $"The WebSocket handshake with {uri.GetLeftPart(UriPartial.Path)} failed.")
    {
    }

    /// <summary>The check the 101 failed, <see cref="WebSocketResponseFailure.UnexpectedStatusCode"/> for another status, or <see cref="WebSocketResponseFailure.None"/> when no response head was read.</summary>
    public WebSocketResponseFailure Failure { get; }

    /// <summary>Why the answer is not an HTTP/1.1 response head, or <see cref="Http1HeadError.None"/> when it is one.</summary>
    public Http1HeadError HeadError { get; }

    /// <summary>The response's status code, or 0 when no response head was read.</summary>
    public int StatusCode { get; }

    /// <summary>The response's reason phrase, or null when no response head was read.</summary>
    public string? ReasonPhrase { get; }

    /// <summary>The response's header fields, or null when no response head was read.</summary>
    public Http1HeaderCollection? ResponseHeaders { get; }

    private static string Describe(Uri uri, WebSocketResponseValidationResult result, Http1ResponseHead response)
    {
        string where = uri.GetLeftPart(UriPartial.Path);
        return result.Failure == WebSocketResponseFailure.UnexpectedStatusCode
            ? $"{where} answered the WebSocket handshake with {response.StatusCode} {response.ReasonPhrase} instead of 101 Switching Protocols."
            : $"{where} answered the WebSocket handshake with a 101 the client must refuse ({result.Failure}): {result.Message}";
    }
}
