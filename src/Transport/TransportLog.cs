using System.Net;
using Microsoft.Extensions.Logging;

namespace Shockwave.Transport;

/// <summary>The transport's log lines (category <c>Shockwave.Transport</c>); nothing per connection above Debug.</summary>
internal sealed partial class TransportLog(ILogger logger)
{
    [LoggerMessage(EventId = 1, Level = LogLevel.Information, Message = "Shockwave transport listening on {EndPoint}.")]
    public partial void Listening(EndPoint endPoint);

    [LoggerMessage(EventId = 2, Level = LogLevel.Debug, Message = "Connection {ConnectionId} was reset by the peer.")]
    public partial void ConnectionReset(string connectionId);

    [LoggerMessage(EventId = 3, Level = LogLevel.Debug, Message = "Connection {ConnectionId} failed to receive.")]
    public partial void ReceiveFailed(string connectionId, Exception exception);

    [LoggerMessage(EventId = 4, Level = LogLevel.Debug, Message = "Connection {ConnectionId} failed to send.")]
    public partial void SendFailed(string connectionId, Exception exception);

    [LoggerMessage(EventId = 6, Level = LogLevel.Error, Message = "A ConnectionClosed callback of connection {ConnectionId} threw.")]
    public partial void ConnectionClosedCallbackFailed(string connectionId, Exception exception);

    [LoggerMessage(EventId = 5, Level = LogLevel.Warning, Message = "Accepting a connection on {EndPoint} failed; the listener keeps accepting.")]
    public partial void AcceptFailed(EndPoint endPoint, Exception exception);
}
