using System.Diagnostics;
using System.Diagnostics.Metrics;
using Shockwave.Protocol;

namespace Shockwave.Diagnostics;

/// <summary>
/// The one <see cref="Meter"/> of the library ("Shockwave"), created from <see cref="IMeterFactory"/> so hosts and tests
/// can listen per service provider. Names follow OpenTelemetry's conventions (<c>kestrel.active_connections</c> style).
/// </summary>
internal sealed class WibeSocketMetrics
{
    public const string MeterName = "Shockwave";

    private readonly UpDownCounter<long> _activeConnections;
    private readonly Counter<long> _handshakeRejections;
    private readonly Counter<long> _messagesReceived;
    private readonly Counter<long> _messagesSent;
    private readonly Counter<long> _bytesReceived;
    private readonly Counter<long> _bytesSent;
    private readonly Counter<long> _closedConnections;
    private readonly Histogram<double> _connectionDuration;
    private readonly UpDownCounter<long> _sendQueueBytes;
    private readonly Counter<long> _slowConsumers;
    private readonly Counter<long> _deliveries;
    private readonly Counter<long> _drainClosed;
    private readonly Meter _meter;

    public WibeSocketMetrics(IMeterFactory meterFactory)
    {
        ArgumentNullException.ThrowIfNull(meterFactory);
        var meter = _meter = meterFactory.Create(MeterName);
        _activeConnections = meter.CreateUpDownCounter<long>("shockwave.active_connections", "{connection}", "Open WibeSocket connections.");
        _handshakeRejections = meter.CreateCounter<long>("shockwave.handshake.rejections", "{request}", "Upgrade requests refused, by reason.");
        _messagesReceived = meter.CreateCounter<long>("shockwave.messages.received", "{message}", "Data messages received.");
        _messagesSent = meter.CreateCounter<long>("shockwave.messages.sent", "{message}", "Data messages sent.");
        _bytesReceived = meter.CreateCounter<long>("shockwave.bytes.received", "By", "Payload bytes of the data messages received (after inflation).");
        _bytesSent = meter.CreateCounter<long>("shockwave.bytes.sent", "By", "Payload bytes of the data messages sent (before compression).");
        _closedConnections = meter.CreateCounter<long>("shockwave.connections.closed", "{connection}", "Connections ended, by close reason.");
        _connectionDuration = meter.CreateHistogram<double>("shockwave.connection.duration", "s", "How long connections stayed open.");
        _sendQueueBytes = meter.CreateUpDownCounter<long>("shockwave.send_queue.size", "By", "Bytes of broadcast frames queued for connections and not yet handed to the transport.");
        _slowConsumers = meter.CreateCounter<long>("shockwave.send_queue.overflows", "{message}", "Broadcast messages a connection could not take within its send budget, by the policy applied (drop or close).");
        _drainClosed = meter.CreateCounter<long>("shockwave.drain.closes", "{connection}", "Connections closed by a graceful drain.");
        _deliveries = meter.CreateCounter<long>("shockwave.broadcast.deliveries", "{delivery}", "Broadcast deliveries queued to connections, and those skipped because the recipient was closing, by outcome.");
    }

    public void ConnectionOpened(string endpoint) => _activeConnections.Add(1, new KeyValuePair<string, object?>("shockwave.endpoint", endpoint));

    public void ConnectionClosed(string endpoint, string closeReason, WebSocketCloseStatus? closeStatus, TimeSpan duration)
    {
        _activeConnections.Add(-1, new KeyValuePair<string, object?>("shockwave.endpoint", endpoint));
        if (!_closedConnections.Enabled && !_connectionDuration.Enabled)
        {
            return;
        }

        // Once per connection, so the boxed close code costs nothing per message.
        var tags = new TagList
        {
            { "shockwave.endpoint", endpoint },
            { "shockwave.close_reason", closeReason },
            { "websocket.close_code", closeStatus is { } status ? (int)status : null },
        };
        _closedConnections.Add(1, tags);
        _connectionDuration.Record(duration.TotalSeconds, tags);
    }

    public void SendQueueChanged(long bytes) => _sendQueueBytes.Add(bytes);

    public void DrainClosed() => _drainClosed.Add(1);

    /// <summary>Publishes the drain's progress (connections still to close) as an observable gauge.</summary>
    public void ObserveDrain(Func<int> remaining) =>
        _meter.CreateObservableGauge("shockwave.drain.remaining", remaining, "{connection}", "Connections a running drain has still to close.");

    public void SlowConsumer(string policy) => _slowConsumers.Add(1, new KeyValuePair<string, object?>("shockwave.slow_consumer.policy", policy));

    public void BroadcastDeliveries(long queued, long skipped)
    {
        if (!_deliveries.Enabled)
        {
            return;
        }

        if (queued != 0)
        {
            _deliveries.Add(queued, new KeyValuePair<string, object?>("shockwave.delivery.outcome", "queued"));
        }

        if (skipped != 0)
        {
            _deliveries.Add(skipped, new KeyValuePair<string, object?>("shockwave.delivery.outcome", "skipped"));
        }
    }

    public void HandshakeRejected(string reason, int statusCode)
    {
        if (_handshakeRejections.Enabled)
        {
            var tags = new TagList
            {
                { "shockwave.rejection_reason", reason },
                { "http.response.status_code", statusCode },
            };
            _handshakeRejections.Add(1, tags);
        }
    }

    public void MessageReceived(WibeSocketMessageType kind, long bytes)
    {
        var tag = new KeyValuePair<string, object?>("shockwave.message_type", KindName(kind));
        _messagesReceived.Add(1, tag);
        _bytesReceived.Add(bytes, tag);
    }

    public void MessageSent(WibeSocketMessageType kind, long bytes)
    {
        var tag = new KeyValuePair<string, object?>("shockwave.message_type", KindName(kind));
        _messagesSent.Add(1, tag);
        _bytesSent.Add(bytes, tag);
    }

    private static string KindName(WibeSocketMessageType type) => type == WibeSocketMessageType.Text ? "text" : "binary";
}

/// <summary>Why a connection ended: the value of the <c>shockwave.close_reason</c> metric tag and of log lines.</summary>
internal static class CloseReasons
{
    public const string ClientClosed = "client_closed";
    public const string ServerClosed = "server_closed";
    public const string ProtocolError = "protocol_error";
    public const string MessageTooBig = "message_too_big";
    public const string InvalidPayload = "invalid_payload";
    public const string KeepAliveTimeout = "keepalive_timeout";
    public const string CloseTimeout = "close_timeout";
    public const string ServerShutdown = "server_shutdown";
    public const string TransportEnded = "transport_ended";
    public const string Aborted = "aborted";
    public const string HandlerFailed = "handler_failed";
    public const string SlowConsumer = "slow_consumer";
    public const string ServerDrain = "server_drain";

    public static string For(WebSocketCloseStatus status) => status switch
    {
        WebSocketCloseStatus.MessageTooBig => MessageTooBig,
        WebSocketCloseStatus.InvalidPayloadData => InvalidPayload,
        _ => ProtocolError,
    };
}
