using Microsoft.Extensions.Logging;
using Shockwave.Protocol;

namespace Shockwave.Diagnostics;

/// <summary>
/// The connection runtime's log messages. Event ids are stable across the product: 1-99 the connection runtime (this
/// class), 100-299 the server (<c>Shockwave.Middleware</c>'s <c>Log</c>), 300-399 the client.
/// </summary>
internal static partial class RuntimeLog
{
    [LoggerMessage(1, LogLevel.Debug, "WibeSocket {ConnectionId} opened (subprotocol '{SubProtocol}', compression {Compression}, transport {Transport}).", EventName = "ConnectionOpened")]
    public static partial void ConnectionOpened(ILogger logger, string connectionId, string? subProtocol, bool compression, string transport);

    [LoggerMessage(2, LogLevel.Debug, "WibeSocket {ConnectionId} closed: {CloseReason}, status {CloseStatus}.", EventName = "ConnectionClosed")]
    public static partial void ConnectionClosed(ILogger logger, string connectionId, string closeReason, WebSocketCloseStatus? closeStatus);

    [LoggerMessage(3, LogLevel.Debug, "WibeSocket {ConnectionId} failed the connection: {ErrorName} ({CloseStatus}): {Reason}.", EventName = "ProtocolError")]
    public static partial void ProtocolError(ILogger logger, string connectionId, string errorName, WebSocketCloseStatus closeStatus, string reason);

    [LoggerMessage(4, LogLevel.Debug, "WibeSocket {ConnectionId} keep-alive timed out after {Timeout}; aborting.", EventName = "KeepAliveTimeout")]
    public static partial void KeepAliveTimeout(ILogger logger, string connectionId, TimeSpan timeout);

    [LoggerMessage(5, LogLevel.Debug, "WibeSocket {ConnectionId} did not receive the peer's close frame within {Timeout}; aborting.", EventName = "CloseTimeout")]
    public static partial void CloseTimeout(ILogger logger, string connectionId, TimeSpan timeout);

    [LoggerMessage(6, LogLevel.Error, "WibeSocket {ConnectionId} handler threw; closing with 1011.", EventName = "HandlerFailed")]
    public static partial void HandlerFailed(ILogger logger, string connectionId, Exception exception);

    [LoggerMessage(7, LogLevel.Debug, "WibeSocket {ConnectionId}: the server is stopping; closing with 1001.", EventName = "ServerStopping")]
    public static partial void ServerStopping(ILogger logger, string connectionId);

    [LoggerMessage(8, LogLevel.Debug, "WibeSocket {ConnectionId}: transport ended: {Message}", EventName = "TransportEnded")]
    public static partial void TransportEnded(ILogger logger, string connectionId, string message);

    [LoggerMessage(9, LogLevel.Debug, "WibeSocket {ConnectionId} aborted: a send was cancelled after its frame had started.", EventName = "SendCancelledMidFrame")]
    public static partial void SendCancelledMidFrame(ILogger logger, string connectionId);

    [LoggerMessage(10, LogLevel.Debug, "WibeSocket {ConnectionId} handler stopped: it sent after the connection began closing ({State}).", EventName = "HandlerStoppedByClose")]
    public static partial void HandlerStoppedByClose(ILogger logger, string connectionId, WibeSocketState state);
}
