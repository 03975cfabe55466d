namespace Shockwave;

/// <summary>
/// The connections of one endpoint (a hub type, or a delegate endpoint's route pattern), addressable from anywhere: a
/// hub, a controller, a minimal-API handler, a <c>BackgroundService</c>. Inject <see cref="IWibeSocketClients{THub}"/>
/// for a hub's connections, use <see cref="IWibeSocketClientsProvider"/> for a delegate endpoint's, or
/// <c>socket.Clients</c> inside a handler.
/// </summary>
/// <remarks>
/// <para>Sends never wait for a recipient: they return once the message is queued for every local recipient. Each
/// connection has a send budget (<see cref="WibeSocketOptions.SendQueueLimit"/>); a recipient past it gets its
/// endpoint's <see cref="WibeSocketSlowConsumerPolicy"/>. A connection's own <see cref="WibeSocket.SendAsync(ReadOnlyMemory{byte}, WibeSocketMessageType, CancellationToken)"/>
/// keeps its awaited back-pressure.</para>
/// <para>An unknown connection id, user or group is an empty audience, not an error.</para>
/// </remarks>
public interface IWibeSocketClients
{
    /// <summary>Sends to every connection of the endpoint.</summary>
    ValueTask<WibeSocketDeliveryResult> SendToAllAsync(WibeSocketPreparedMessage message, CancellationToken cancellationToken = default);

    /// <summary>Sends to every connection of the endpoint except those listed (the sender, typically).</summary>
    ValueTask<WibeSocketDeliveryResult> SendToAllExceptAsync(WibeSocketPreparedMessage message, IReadOnlyCollection<string> excludedConnectionIds, CancellationToken cancellationToken = default);

    /// <summary>Sends to one connection, by its <see cref="WibeSocket.ConnectionId"/>.</summary>
    ValueTask<WibeSocketDeliveryResult> SendToConnectionAsync(string connectionId, WibeSocketPreparedMessage message, CancellationToken cancellationToken = default);

    /// <summary>Sends to every connection of a user (all their tabs and devices); see <see cref="IWibeSocketUserIdProvider"/>.</summary>
    ValueTask<WibeSocketDeliveryResult> SendToUserAsync(string userId, WibeSocketPreparedMessage message, CancellationToken cancellationToken = default);

    /// <summary>Sends to every member of a group.</summary>
    ValueTask<WibeSocketDeliveryResult> SendToGroupAsync(string group, WibeSocketPreparedMessage message, CancellationToken cancellationToken = default);

    /// <summary>Sends to every member of a group except those listed.</summary>
    ValueTask<WibeSocketDeliveryResult> SendToGroupExceptAsync(string group, WibeSocketPreparedMessage message, IReadOnlyCollection<string> excludedConnectionIds, CancellationToken cancellationToken = default);

    /// <summary>Adds a connection to a group; membership ends with the connection. Adding twice is one membership.</summary>
    /// <exception cref="ArgumentException">The group name is empty, longer than <see cref="WibeSocketGroups.MaxNameLength"/>, or holds control characters.</exception>
    ValueTask AddToGroupAsync(string connectionId, string group, CancellationToken cancellationToken = default);

    /// <summary>Removes a connection from a group; removing a non-member does nothing.</summary>
    ValueTask RemoveFromGroupAsync(string connectionId, string group, CancellationToken cancellationToken = default);

    /// <summary>The connection ids currently in a group on this node (a snapshot), for presence lists.</summary>
    IReadOnlyList<string> GetGroupMembers(string group);

    /// <summary>The number of open connections of the endpoint on this node.</summary>
    int ConnectionCount { get; }
}

/// <summary>The connections of the endpoints that serve <typeparamref name="THub"/>; inject it anywhere.</summary>
/// <typeparam name="THub">The hub type mapped with <c>MapWibeSocket&lt;THub&gt;</c>.</typeparam>
[System.Diagnostics.CodeAnalysis.SuppressMessage("Design", "CA1040", Justification = "The type parameter is the key DI resolves by, as IHubContext<THub> in SignalR.")]
public interface IWibeSocketClients<THub> : IWibeSocketClients
    where THub : WibeSocketHub
{
}

/// <summary>Finds the connections of any endpoint: a delegate endpoint's by its route pattern, a hub's by its type.</summary>
public interface IWibeSocketClientsProvider
{
    /// <summary>The connections of the delegate endpoint mapped at <paramref name="pattern"/> (as written in <c>MapWibeSocket</c>).</summary>
    IWibeSocketClients GetClients(string pattern);

    /// <summary>The connections of the endpoints serving <typeparamref name="THub"/>.</summary>
    IWibeSocketClients GetClients<THub>()
        where THub : WibeSocketHub;
}

/// <summary>Picks the user id a connection's user is addressed by (<see cref="IWibeSocketClients.SendToUserAsync"/>).</summary>
public interface IWibeSocketUserIdProvider
{
    /// <summary>The user id of the connection, or null for an anonymous one. Called once, when the connection opens.</summary>
    string? GetUserId(WibeSocket socket);
}
