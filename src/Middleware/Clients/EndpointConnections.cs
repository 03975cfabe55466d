using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;
using Shockwave.Backplane;
using Shockwave.Diagnostics;
using Shockwave.Protocol;
using Shockwave.Runtime;

namespace Shockwave.Clients;

/// <summary>
/// The open connections of one endpoint on this node, by id, by user and by group, and the sends that address them.
/// Sends read lock-free snapshots (a concurrent dictionary for everyone, copy-on-write arrays for users and groups);
/// membership changes are serialized by one lock per endpoint, never taken on the send path. With a backplane, each send
/// is delivered here first and then published once for the other nodes, and this node subscribes to the channels of the
/// audiences it has members of (<see cref="WibeSocketScaleOut"/>).
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
    private readonly WibeSocketScaleOut? _scaleOut;

    public EndpointConnections(string name, string scaleOutName, IWibeSocketUserIdProvider userIds, WibeSocketMetrics metrics, ILogger logger, WibeSocketScaleOut? scaleOut = null)
    {
        Name = name;
        ScaleOutName = scaleOutName;
        _userIds = userIds;
        _metrics = metrics;
        _logger = logger;
        _scaleOut = scaleOut;
        scaleOut?.Register(this);
    }

    /// <summary>The hub type's name or the delegate endpoint's pattern, for logs.</summary>
    public string Name { get; }

    /// <summary>The endpoint's name on the backplane, the same on every node: the hub type's full name, or the pattern.</summary>
    public string ScaleOutName { get; }

    /// <summary>
    /// The id of a new connection: the server's own (unique on this node), prefixed with the node id under a backplane so
    /// any node can route a send to it.
    /// </summary>
    public string NewConnectionId(string localId) => _scaleOut is null ? localId : string.Concat(_scaleOut.NodeId, ".", localId);

    public int ConnectionCount => _all.Count;

    /// <summary>A snapshot of the open connections (the drain walks it).</summary>
    internal ICollection<WibeSocketConnection> Connections => _all.Values;

    public void OnOpened(WibeSocketConnection connection)
    {
        string? userId = _userIds.GetUserId(connection);
        lock (_membership)
        {
            if (_all.IsEmpty)
            {
                _ = Subscribe(EnvelopeKind.All, string.Empty, true);
            }

            _all[connection.ConnectionId] = connection;
            if (userId is not null)
            {
                Membership(connection).UserId = userId;
                AddTo(_users, EnvelopeKind.User, userId, connection);
            }
        }
    }

    public void OnClosed(WibeSocketConnection connection)
    {
        lock (_membership)
        {
            if (_all.TryRemove(new KeyValuePair<string, WibeSocketConnection>(connection.ConnectionId, connection)) && _all.IsEmpty)
            {
                _ = Subscribe(EnvelopeKind.All, string.Empty, false);
            }

            if (connection.HostState is not ConnectionMembership membership)
            {
                return;
            }

            if (membership.UserId is { } userId)
            {
                RemoveFrom(_users, EnvelopeKind.User, userId, connection);
            }

            foreach (string group in membership.Groups ?? [])
            {
                RemoveFrom(_groups, EnvelopeKind.Group, group, connection);
            }

            membership.Groups = null;
        }
    }

    public ValueTask<WibeSocketDeliveryResult> SendToAllAsync(WibeSocketPreparedMessage message, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(message);
        _scaleOut?.ThrowIfTooLarge(message);
        var local = DeliverToAll(message, excluded: null);
        return Publish(local, EnvelopeKind.All, string.Empty, null, message, cancellationToken);
    }

    public ValueTask<WibeSocketDeliveryResult> SendToAllExceptAsync(WibeSocketPreparedMessage message, IReadOnlyCollection<string> excludedConnectionIds, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(message);
        ArgumentNullException.ThrowIfNull(excludedConnectionIds);
        _scaleOut?.ThrowIfTooLarge(message);
        var local = DeliverToAll(message, excludedConnectionIds);
        return Publish(local, EnvelopeKind.AllExcept, string.Empty, excludedConnectionIds, message, cancellationToken);
    }

    public ValueTask<WibeSocketDeliveryResult> SendToConnectionAsync(string connectionId, WibeSocketPreparedMessage message, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(connectionId);
        ArgumentNullException.ThrowIfNull(message);
        if (HeldElsewhere(connectionId) is { } owner)
        {
            _scaleOut!.ThrowIfTooLarge(message);
            return Publish(default, EnvelopeKind.Connection, connectionId, null, message, cancellationToken, owner);
        }

        return ValueTask.FromResult(DeliverToConnection(connectionId, message));
    }

    public ValueTask<WibeSocketDeliveryResult> SendToUserAsync(string userId, WibeSocketPreparedMessage message, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(userId);
        ArgumentNullException.ThrowIfNull(message);
        _scaleOut?.ThrowIfTooLarge(message);
        var local = DeliverToSet(_users, userId, "user", message, excluded: null);
        return Publish(local, EnvelopeKind.User, userId, null, message, cancellationToken);
    }

    public ValueTask<WibeSocketDeliveryResult> SendToGroupAsync(string group, WibeSocketPreparedMessage message, CancellationToken cancellationToken = default)
    {
        WibeSocketGroups.ThrowIfInvalidName(group);
        ArgumentNullException.ThrowIfNull(message);
        _scaleOut?.ThrowIfTooLarge(message);
        var local = DeliverToSet(_groups, group, "group", message, excluded: null);
        return Publish(local, EnvelopeKind.Group, group, null, message, cancellationToken);
    }

    public ValueTask<WibeSocketDeliveryResult> SendToGroupExceptAsync(string group, WibeSocketPreparedMessage message, IReadOnlyCollection<string> excludedConnectionIds, CancellationToken cancellationToken = default)
    {
        WibeSocketGroups.ThrowIfInvalidName(group);
        ArgumentNullException.ThrowIfNull(message);
        ArgumentNullException.ThrowIfNull(excludedConnectionIds);
        _scaleOut?.ThrowIfTooLarge(message);
        var local = DeliverToSet(_groups, group, "group", message, excludedConnectionIds);
        return Publish(local, EnvelopeKind.GroupExcept, group, excludedConnectionIds, message, cancellationToken);
    }

    public ValueTask AddToGroupAsync(string connectionId, string group, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(connectionId);
        WibeSocketGroups.ThrowIfInvalidName(group);
        if (HeldElsewhere(connectionId) is { } owner)
        {
            return ChangeGroupElsewhereAsync(EnvelopeKind.AddToGroup, owner, connectionId, group, cancellationToken);
        }

        // The first member of a group here makes this node listen on the group's channel; the join returns once it
        // does, so what another node sends to the group right after the join reaches the new member.
        var listening = AddToGroupHere(connectionId, group);
        return listening is null || listening.IsCompleted ? ValueTask.CompletedTask : _scaleOut!.WaitUntilListeningAsync(listening, cancellationToken);
    }

    public ValueTask RemoveFromGroupAsync(string connectionId, string group, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(connectionId);
        WibeSocketGroups.ThrowIfInvalidName(group);
        if (HeldElsewhere(connectionId) is { } owner)
        {
            return ChangeGroupElsewhereAsync(EnvelopeKind.RemoveFromGroup, owner, connectionId, group, cancellationToken);
        }

        RemoveFromGroupHere(connectionId, group);
        return ValueTask.CompletedTask;
    }

    /// <summary>Carries out what another node published for this one's connections; never publishes again.</summary>
    internal void Deliver(in BackplaneEnvelope envelope)
    {
        switch (envelope.Kind)
        {
            case EnvelopeKind.AddToGroup:
                _ = AddToGroupHere(First(envelope.ConnectionIds), envelope.Target);
                return;
            case EnvelopeKind.RemoveFromGroup:
                RemoveFromGroupHere(First(envelope.ConnectionIds), envelope.Target);
                return;
        }

        using var message = WibeSocketPreparedMessage.Create(envelope.Payload, envelope.MessageType);
        _ = envelope.Kind switch
        {
            EnvelopeKind.All => DeliverToAll(message, excluded: null),
            EnvelopeKind.AllExcept => DeliverToAll(message, envelope.ConnectionIds),
            EnvelopeKind.Connection => DeliverToConnection(envelope.Target, message),
            EnvelopeKind.User => DeliverToSet(_users, envelope.Target, "user", message, excluded: null),
            EnvelopeKind.Group => DeliverToSet(_groups, envelope.Target, "group", message, excluded: null),
            _ => DeliverToSet(_groups, envelope.Target, "group", message, envelope.ConnectionIds),
        };
    }

    /// <summary>The local connections a lost backplane message may have been for.</summary>
    internal IEnumerable<WibeSocketConnection> AffectedBy(WibeSocketBackplaneGapScope scope, string? key) => scope switch
    {
        WibeSocketBackplaneGapScope.Group => key is not null && _groups.TryGetValue(key, out var group) ? group.Members : [],
        WibeSocketBackplaneGapScope.User => key is not null && _users.TryGetValue(key, out var user) ? user.Members : [],
        _ => _all.Values,
    };

    private static string First(IReadOnlyCollection<string>? ids) =>
        ids?.FirstOrDefault() ?? throw new ArgumentException("A group change without its connection id.", nameof(ids));

    /// <summary>The node holding a connection when it is another one than this (a backplane's connection id names it).</summary>
    private string? HeldElsewhere(string connectionId) =>
        _scaleOut is not null && WibeSocketScaleOut.OwnerOf(connectionId) is { } owner && !string.Equals(owner, _scaleOut.NodeId, StringComparison.Ordinal)
            ? owner
            : null;

    private ValueTask<WibeSocketDeliveryResult> Publish(WibeSocketDeliveryResult local, EnvelopeKind kind, string target, IReadOnlyCollection<string>? excluded, WibeSocketPreparedMessage message, CancellationToken cancellationToken, string? node = null)
    {
        if (_scaleOut is null)
        {
            return ValueTask.FromResult(local);
        }

        string channel = _scaleOut.ChannelFor(this, kind, node ?? target);
        var remote = _scaleOut.PublishAsync(this, kind, channel, target, excluded, message, cancellationToken);
        return remote.IsCompletedSuccessfully ? ValueTask.FromResult(local with { Remote = remote.Result }) : Combine(local, remote);

        static async ValueTask<WibeSocketDeliveryResult> Combine(WibeSocketDeliveryResult local, ValueTask<WibeSocketRemoteDelivery> remote) =>
            local with { Remote = await remote.ConfigureAwait(false) };
    }

    private async ValueTask ChangeGroupElsewhereAsync(EnvelopeKind kind, string owner, string connectionId, string group, CancellationToken cancellationToken)
    {
        // A remove travels on the group's channel, where the holding node listens while the member is there: it then
        // arrives after every message sent to the group before it. An add goes to the holding node's own channel, since
        // that node may not listen on the group yet.
        string channel = _scaleOut!.ChannelFor(this, kind, kind == EnvelopeKind.RemoveFromGroup ? group : owner);
        if (await _scaleOut.PublishAsync(this, kind, channel, group, [connectionId], message: null, cancellationToken).ConfigureAwait(false) != WibeSocketRemoteDelivery.Published)
        {
            Log.GroupChangeNotDelivered(_logger, connectionId);
        }
    }

    /// <summary>Adds a local connection to a group; returns the subscription to wait for when the group is new here.</summary>
    private Task? AddToGroupHere(string connectionId, string group)
    {
        WibeSocketGroups.ThrowIfInvalidName(group);
        lock (_membership)
        {
            // Under the membership lock, a connection found here has not been through OnClosed yet: its membership
            // will be removed with it.
            if (!_all.TryGetValue(connectionId, out var connection))
            {
                Log.UnknownAudience(_logger, Name, "connection", connectionId);
                return null;
            }

            var membership = Membership(connection);
            return (membership.Groups ??= new HashSet<string>(StringComparer.Ordinal)).Add(group)
                ? AddTo(_groups, EnvelopeKind.Group, group, connection)
                : null;
        }
    }

    private void RemoveFromGroupHere(string connectionId, string group)
    {
        WibeSocketGroups.ThrowIfInvalidName(group);
        lock (_membership)
        {
            if (_all.TryGetValue(connectionId, out var connection)
                && connection.HostState is ConnectionMembership { Groups: { } groups }
                && groups.Remove(group))
            {
                RemoveFrom(_groups, EnvelopeKind.Group, group, connection);
            }
        }
    }

    public IReadOnlyList<string> GetGroupMembers(string group)
    {
        WibeSocketGroups.ThrowIfInvalidName(group);
        return _groups.TryGetValue(group, out var set) ? Array.ConvertAll(set.Members, static c => c.ConnectionId) : [];
    }

    private static ConnectionMembership Membership(WibeSocketConnection connection) =>
        connection.HostState as ConnectionMembership ?? (ConnectionMembership)(connection.HostState = new ConnectionMembership());

    /// <summary>
    /// Under the membership lock: adds to a user's or group's set, subscribing to its channel when it is new here; returns
    /// that subscription (null when there is nothing to wait for).
    /// </summary>
    private Task? AddTo(ConcurrentDictionary<string, ConnectionSet> sets, EnvelopeKind kind, string key, WibeSocketConnection connection)
    {
        Task? subscribed = null;
        if (!sets.TryGetValue(key, out var set))
        {
            set = sets[key] = new ConnectionSet();
            subscribed = Subscribe(kind, key, true);
        }

        set.Add(connection);
        return subscribed;
    }

    /// <summary>Under the membership lock: nobody adds to this set between the removal and the emptiness check.</summary>
    private void RemoveFrom(ConcurrentDictionary<string, ConnectionSet> sets, EnvelopeKind kind, string key, WibeSocketConnection connection)
    {
        if (sets.TryGetValue(key, out var set) && set.Remove(connection) && set.IsEmpty)
        {
            sets.TryRemove(new KeyValuePair<string, ConnectionSet>(key, set));
            _ = Subscribe(kind, key, false);
        }
    }

    /// <summary>A node listens on an audience's channel only while it has a member of it (SignalR's Redis topology).</summary>
    private Task? Subscribe(EnvelopeKind kind, string key, bool wanted) => _scaleOut?.Want(_scaleOut.ChannelFor(this, kind, key), wanted);

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

    private WibeSocketDeliveryResult DeliverToAll(WibeSocketPreparedMessage message, IReadOnlyCollection<string>? excluded)
    {
        var result = default(Tally);
        foreach (var entry in _all)
        {
            if (excluded is null || !Contains(excluded, entry.Key))
            {
                result.Add(Offer(entry.Value, message));
            }
        }

        return Complete(result);
    }

    private WibeSocketDeliveryResult DeliverToConnection(string connectionId, WibeSocketPreparedMessage message)
    {
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

    private WibeSocketDeliveryResult DeliverToSet(ConcurrentDictionary<string, ConnectionSet> sets, string key, string kind, WibeSocketPreparedMessage message, IReadOnlyCollection<string>? excluded)
    {
        var result = default(Tally);
        if (!sets.TryGetValue(key, out var set))
        {
            // Under a backplane the audience may well be on other nodes only: not worth a line.
            if (_scaleOut is null)
            {
                Log.UnknownAudience(_logger, Name, kind, key);
            }

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

    private WibeSocketDeliveryResult Complete(in Tally tally)
    {
        _metrics.BroadcastDeliveries(tally.Queued, tally.Skipped);
        return new WibeSocketDeliveryResult(tally.Queued, tally.Dropped, tally.Closed, tally.Skipped);
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
