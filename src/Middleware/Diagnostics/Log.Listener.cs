using Microsoft.Extensions.Logging;

namespace Shockwave.Diagnostics;

// Event ids 200-299: the raw Kestrel listener. Everything a peer can cause is logged at Debug: a port scanner or a
// broken client must not be able to flood the logs of a server it cannot otherwise reach.
internal static partial class Log
{
    [LoggerMessage(200, LogLevel.Debug, "WibeSocket listener refused connection {ConnectionId} ({Path}): {StatusCode} {Reason}.", EventName = "ListenerHandshakeRejected")]
    public static partial void ListenerHandshakeRejected(ILogger logger, string connectionId, string path, int statusCode, string reason);

    [LoggerMessage(201, LogLevel.Debug, "WibeSocket listener connection {ConnectionId} sent no complete request head within {Timeout}; closing.", EventName = "ListenerHandshakeTimeout")]
    public static partial void ListenerHandshakeTimeout(ILogger logger, string connectionId, TimeSpan timeout);

    [LoggerMessage(202, LogLevel.Debug, "WibeSocket listener connection {ConnectionId} ended before its handshake completed: {Why}.", EventName = "ListenerHandshakeAbandoned")]
    public static partial void ListenerHandshakeAbandoned(ILogger logger, string connectionId, string why);

    [LoggerMessage(203, LogLevel.Debug, "WibeSocket listener connection {ConnectionId} failed.", EventName = "ListenerConnectionFailed")]
    public static partial void ListenerConnectionFailed(ILogger logger, string connectionId, Exception exception);

    [LoggerMessage(204, LogLevel.Warning, "The raw WibeSocket listener cannot serve the endpoint '{Pattern}' ({Reason}): it has no HTTP pipeline to enforce that, so it answers 403 there. Serve this endpoint through an HTTP listener.", EventName = "ListenerEndpointRefused")]
    public static partial void ListenerEndpointRefused(ILogger logger, string pattern, string reason);
}
