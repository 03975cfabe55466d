using Shockwave.Clients;
using Shockwave.Protocol;

namespace Shockwave.Backplane;

/// <summary>Why a node knows it missed messages.</summary>
public enum WibeSocketBackplaneGapReason
{
    /// <summary>A sender's sequence numbers on a channel skipped: the broker dropped messages, or the sender could not publish them.</summary>
    SequenceGap,

    /// <summary>The subscription connection to the broker was lost: everything published meanwhile is gone.</summary>
    ConnectionLost,
}

/// <summary>Which local connections a gap concerns.</summary>
public enum WibeSocketBackplaneGapScope
{
    /// <summary>Every connection of the endpoint (a broadcast channel, or the broker connection itself).</summary>
    Endpoint,

    /// <summary>The members of one group on this node.</summary>
    Group,

    /// <summary>The connections of one user on this node.</summary>
    User,

    /// <summary>Sends addressed to single connections of this node (and group changes for them).</summary>
    Node,
}

/// <summary>
/// Messages for this node's connections were lost between nodes. Redis pub/sub, like most brokers' fire-and-forget
/// channels, delivers at most once; the backplane does not resend, it tells you, so an application can resync its
/// clients from its own store.
/// </summary>
public sealed class WibeSocketBackplaneGap
{
    private readonly EndpointConnections? _endpoint;

    internal WibeSocketBackplaneGap(WibeSocketBackplaneGapReason reason, WibeSocketBackplaneGapScope scope, EndpointConnections? endpoint, string? key, string? senderNodeId, long? missedMessages)
    {
        Reason = reason;
        Scope = scope;
        _endpoint = endpoint;
        Key = key;
        SenderNodeId = senderNodeId;
        MissedMessages = missedMessages;
    }

    /// <summary>Why the gap was found.</summary>
    public WibeSocketBackplaneGapReason Reason { get; }

    /// <summary>Which local connections it concerns.</summary>
    public WibeSocketBackplaneGapScope Scope { get; }

    /// <summary>The endpoint (hub type name or route pattern), or null when the gap concerns every endpoint of the node.</summary>
    public string? Endpoint => _endpoint?.ScaleOutName;

    /// <summary>The group or user, for those scopes.</summary>
    public string? Key { get; }

    /// <summary>The node whose messages went missing; null when unknown (a lost connection).</summary>
    public string? SenderNodeId { get; }

    /// <summary>How many messages went missing; null when unknown (a lost connection).</summary>
    public long? MissedMessages { get; }

    /// <summary>The ids of the local connections that may have missed messages (a snapshot).</summary>
    public IReadOnlyList<string> AffectedConnectionIds => [.. Affected().Select(static c => c.ConnectionId)];

    /// <summary>
    /// Starts closing the affected local connections (default 1012 Service Restart, which well-behaved clients answer by
    /// reconnecting and reloading their state) and returns how many were asked to close.
    /// </summary>
    public int CloseAffectedConnections(WebSocketCloseStatus status = WebSocketCloseStatus.ServiceRestart, string? reason = "missed messages")
    {
        int closed = 0;
        foreach (var connection in Affected())
        {
            _ = CloseQuietlyAsync(connection, status, reason);
            closed++;
        }

        return closed;
    }

    internal IEnumerable<Runtime.WibeSocketConnection> Affected() => _endpoint is null ? [] : _endpoint.AffectedBy(Scope, Key);

    private static async Task CloseQuietlyAsync(WibeSocket connection, WebSocketCloseStatus status, string? reason)
    {
        try
        {
            await connection.CloseAsync(status, reason).ConfigureAwait(false);
        }
        catch (Exception e) when (e is InvalidOperationException or OperationCanceledException or IOException)
        {
            // The connection ended on its own meanwhile: nothing left to close.
        }
    }

    /// <inheritdoc/>
    public override string ToString() => $"{Reason} ({Scope} {Endpoint} {Key}) from {SenderNodeId ?? "?"}: {MissedMessages?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "unknown"} missed";
}
