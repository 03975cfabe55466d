using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;
using Shockwave.Diagnostics;
using Shockwave.Protocol;
using Shockwave.Runtime;

namespace Shockwave.Clients;

/// <summary>
/// The open connections of one endpoint on this node, by id, by user and by group, and the sends that address them.
/// Sends read lock-free snapshots (a concurrent dictionary for everyone, copy-on-write arrays for users and groups);
/// membership changes are serialized by one lock per endpoint, never taken on the send path.
/// </summary>
internal sealed class EndpointConnections : IWibeSocketClients, IConnectionObserver
{
    private readonly ConcurrentDictionary<string, WibeSocketConnection> _all = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, ConnectionSet> _users = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, ConnectionSet> _groups = new(StringComparer.Ordinal);
    private readonly Lock _membership = new();
    private readonly IWibeSocketUserIdProvider _userIds;
    private readonly WibeSocketMetrics _metrics;
    private readonly ILogger _logger;

    public EndpointConnections(string name, IWibeSocketUserIdProvider userIds, WibeSocketMetrics metrics, ILogger logger)
    {
        Name = name;
        _userIds = userIds;
        _metrics = metrics;
        _logger = logger;
    }

    /// <summary>The hub type's name or the delegate endpoint's pattern, for logs.</summary>
    public string Name { get; }

    public int ConnectionCount => _all.Count;

    /// <summary>A snapshot of the open connections (the drain walks it).</summary>
    internal ICollection<WibeSocketConnection> Connections => _all.Values;

    public void OnOpened(WibeSocketConnection connection)
    {
        string? userId = _userIds.GetUserId(connection);
        lock (_membership)
        {
            _all[connection.ConnectionId] = connection;
            if (userId is not null)
            {
                Membership(connection).UserId = userId;
                _users.GetOrAdd(userId, static _ => new ConnectionSet()).Add(connection);
            }
        }
    }

    public void OnClosed(WibeSocketConnection connection)
    {
        lock (_membership)
        {
            _all.TryRemove(new KeyValuePair<string, WibeSocketConnection>(connection.ConnectionId, connection));
            if (connection.HostState is not ConnectionMembership membership)
            {
                return;
            }

            if (membership.UserId is { } userId)
            {
                RemoveFrom(_users, userId, connection);
            }

            foreach (string group in membership.Groups ?? [])
            {
                RemoveFrom(_groups, group, connection);
            }

            membership.Groups = null;
        }
    }

    public ValueTask<WibeSocketDeliveryResult> SendToAllAsync(WibeSocketPreparedMessage message, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(message);
        var result = default(Tally);
        foreach (var entry in _all)
        {
            result.Add(Offer(entry.Value, message));
        }

        return Complete(result);
    }

    public ValueTask<WibeSocketDeliveryResult> SendToAllExceptAsync(WibeSocketPreparedMessage message, IReadOnlyCollection<string> excludedConnectionIds, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(message);
        ArgumentNullException.ThrowIfNull(excludedConnectionIds);
        var result = default(Tally);
        foreach (var entry in _all)
        {
            if (!Contains(excludedConnectionIds, entry.Key))
            {
                result.Add(Offer(entry.Value, message));
            }
        }

        return Complete(result);
    }

    public ValueTask<WibeSocketDeliveryResult> SendToConnectionAsync(string connectionId, WibeSocketPreparedMessage message, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(connectionId);
        ArgumentNullException.ThrowIfNull(message);
        var result = default(Tally);
        if (_all.TryGetValue(connectionId, out var connection))
        {
            result.Add(Offer(connection, message));
        }
        else
        {
            Log.UnknownAudience(_logger, Name, "connection", connectionId);
        }

        return Complete(result);
    }

    public ValueTask<WibeSocketDeliveryResult> SendToUserAsync(string userId, WibeSocketPreparedMessage message, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(userId);
        ArgumentNullException.ThrowIfNull(message);
        return SendToSet(_users, userId, "user", message, excluded: null);
    }

    public ValueTask<WibeSocketDeliveryResult> SendToGroupAsync(string group, WibeSocketPreparedMessage message, CancellationToken cancellationToken = default)
    {
        WibeSocketGroups.ThrowIfInvalidName(group);
        ArgumentNullException.ThrowIfNull(message);
        return SendToSet(_groups, group, "group", message, excluded: null);
    }

    public ValueTask<WibeSocketDeliveryResult> SendToGroupExceptAsync(string group, WibeSocketPreparedMessage message, IReadOnlyCollection<string> excludedConnectionIds, CancellationToken cancellationToken = default)
    {
        WibeSocketGroups.ThrowIfInvalidName(group);
        ArgumentNullException.ThrowIfNull(message);
        ArgumentNullException.ThrowIfNull(excludedConnectionIds);
        return SendToSet(_groups, group, "group", message, excludedConnectionIds);
    }

    public ValueTask AddToGroupAsync(string connectionId, string group, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(connectionId);
        WibeSocketGroups.ThrowIfInvalidName(group);
        lock (_membership)
        {
            // Under the membership lock, a connection found here has not been through OnClosed yet: its membership
            // will be removed with it.
            if (!_all.TryGetValue(connectionId, out var connection))
            {
                Log.UnknownAudience(_logger, Name, "connection", connectionId);
                return ValueTask.CompletedTask;
            }

            var membership = Membership(connection);
            if ((membership.Groups ??= new HashSet<string>(StringComparer.Ordinal)).Add(group))
            {
                _groups.GetOrAdd(group, static _ => new ConnectionSet()).Add(connection);
            }
        }

        return ValueTask.CompletedTask;
    }

    public ValueTask RemoveFromGroupAsync(string connectionId, string group, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(connectionId);
        WibeSocketGroups.ThrowIfInvalidName(group);
        lock (_membership)
        {
            if (_all.TryGetValue(connectionId, out var connection)
                && connection.HostState is ConnectionMembership { Groups: { } groups }
                && groups.Remove(group))
            {
                RemoveFrom(_groups, group, connection);
            }
        }

        return ValueTask.CompletedTask;
    }

    public IReadOnlyList<string> GetGroupMembers(string group)
    {
        WibeSocketGroups.ThrowIfInvalidName(group);
        return _groups.TryGetValue(group, out var set) ? Array.ConvertAll(set.Members, static c => c.ConnectionId) : [];
    }

    private static ConnectionMembership Membership(WibeSocketConnection connection) =>
        connection.HostState as ConnectionMembership ?? (ConnectionMembership)(connection.HostState = new ConnectionMembership());

    private static void RemoveFrom(ConcurrentDictionary<string, ConnectionSet> sets, string key, WibeSocketConnection connection)
    {
        // Under the membership lock: nobody adds to this set between the removal and the emptiness check.
        if (sets.TryGetValue(key, out var set) && set.Remove(connection) && set.IsEmpty)
        {
            sets.TryRemove(new KeyValuePair<string, ConnectionSet>(key, set));
        }
    }

    private static bool Contains(IReadOnlyCollection<string> ids, string id)
    {
        if (ids is ICollection<string> collection)
        {
            return collection.Contains(id);
        }

        foreach (string candidate in ids)
        {
            if (string.Equals(candidate, id, StringComparison.Ordinal))
            {
                return true;
            }
        }

        return false;
    }

    private ValueTask<WibeSocketDeliveryResult> SendToSet(ConcurrentDictionary<string, ConnectionSet> sets, string key, string kind, WibeSocketPreparedMessage message, IReadOnlyCollection<string>? excluded)
    {
        var result = default(Tally);
        if (!sets.TryGetValue(key, out var set))
        {
            Log.UnknownAudience(_logger, Name, kind, key);
            return Complete(result);
        }

        foreach (var connection in set.Members)
        {
            if (excluded is null || !Contains(excluded, connection.ConnectionId))
            {
                result.Add(Offer(connection, message));
            }
        }

        return Complete(result);
    }

    private ValueTask<WibeSocketDeliveryResult> Complete(in Tally tally)
    {
        _metrics.BroadcastDeliveries(tally.Queued, tally.Skipped);
        return ValueTask.FromResult(new WibeSocketDeliveryResult(tally.Queued, tally.Dropped, tally.Closed, tally.Skipped));
    }

    /// <summary>Offers the message to one recipient, applying its slow-consumer policy; never throws for the recipient's state.</summary>
    private Outcome Offer(WibeSocketConnection connection, WibeSocketPreparedMessage message)
    {
        switch (connection.Outbound.TryQueue(message.FrameFor(connection)))
        {
            case QueueResult.Queued:
                return Outcome.Queued;
            case QueueResult.Closed:
                return Outcome.Skipped;
        }

        bool close = connection.Setup.Limits.CloseWhenOverBudget;
        _metrics.SlowConsumer(close ? "close" : "drop");
        if (connection.TryMarkSlowConsumer())
        {
            Log.SlowConsumer(_logger, connection.ConnectionId, Name, connection.Setup.Limits.MaxQueuedBytes, close ? "closing it with 1013" : "dropping messages for it");
        }

        if (!close)
        {
            return Outcome.Dropped;
        }

        // A client that fell behind reconnects and resyncs; what it had queued is not delivered (it could not take it).
        connection.Outbound.DiscardQueued();
        _ = connection.SendCloseAsync(WebSocketCloseStatus.TryAgainLater, "slow consumer", CloseReasons.SlowConsumer).AsTask();
        return Outcome.Closed;
    }

    private enum Outcome
    {
        Queued,
        Dropped,
        Closed,
        Skipped,
    }

    private struct Tally
    {
        public int Queued;
        public int Dropped;
        public int Closed;
        public int Skipped;

        public void Add(Outcome outcome)
        {
            switch (outcome)
            {
                case Outcome.Queued: Queued++; break;
                case Outcome.Dropped: Dropped++; break;
                case Outcome.Closed: Closed++; break;
                default: Skipped++; break;
            }
        }
    }
}

/// <summary>What the server keeps with a connection beyond the runtime's own state: its user id and its groups.</summary>
internal sealed class ConnectionMembership
{
    public string? UserId { get; set; }

    public HashSet<string>? Groups { get; set; }
}
