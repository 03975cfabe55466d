using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;
using Shockwave.Backplane;
using Shockwave.Diagnostics;

namespace Shockwave.Clients;

/// <summary>
/// Every endpoint's connections, by key: a hub type (all endpoints serving it share one audience, as in SignalR) or a
/// delegate endpoint's route pattern.
/// </summary>
internal sealed class WibeSocketConnectionRegistry : IWibeSocketClientsProvider
{
    private readonly ConcurrentDictionary<object, EndpointConnections> _endpoints = new();
    private readonly IWibeSocketUserIdProvider _userIds;
    private readonly WibeSocketMetrics _metrics;
    private readonly ILogger _logger;
    private readonly WibeSocketScaleOut? _scaleOut;

    public WibeSocketConnectionRegistry(IWibeSocketUserIdProvider userIds, WibeSocketMetrics metrics, ILoggerFactory loggerFactory, WibeSocketScaleOut? scaleOut = null)
    {
        ArgumentNullException.ThrowIfNull(loggerFactory);
        _userIds = userIds;
        _metrics = metrics;
        _logger = loggerFactory.CreateLogger("Shockwave.WibeSocket");
        _scaleOut = scaleOut;
    }

    /// <summary>Every endpoint's audience (the drain closes them all).</summary>
    public ICollection<EndpointConnections> Endpoints => _endpoints.Values;

    public EndpointConnections For(object key) =>
        _endpoints.GetOrAdd(key, static (key, registry) => key is Type type
            ? new EndpointConnections(type.Name, type.FullName ?? type.Name, registry._userIds, registry._metrics, registry._logger, registry._scaleOut)
            : new EndpointConnections((string)key, (string)key, registry._userIds, registry._metrics, registry._logger, registry._scaleOut), this);

    public IWibeSocketClients GetClients(string pattern)
    {
        ArgumentNullException.ThrowIfNull(pattern);
        return For(pattern);
    }

    public IWibeSocketClients GetClients<THub>()
        where THub : WibeSocketHub => For(typeof(THub));
}

/// <summary>The DI face of a hub's audience: <see cref="IWibeSocketClients{THub}"/>.</summary>
internal sealed class WibeSocketClients<THub>(WibeSocketConnectionRegistry registry) : IWibeSocketClients<THub>
    where THub : WibeSocketHub
{
    private readonly EndpointConnections _connections = registry.For(typeof(THub));

    public int ConnectionCount => _connections.ConnectionCount;

    public ValueTask<WibeSocketDeliveryResult> SendToAllAsync(WibeSocketPreparedMessage message, CancellationToken cancellationToken = default) =>
        _connections.SendToAllAsync(message, cancellationToken);

    public ValueTask<WibeSocketDeliveryResult> SendToAllExceptAsync(WibeSocketPreparedMessage message, IReadOnlyCollection<string> excludedConnectionIds, CancellationToken cancellationToken = default) =>
        _connections.SendToAllExceptAsync(message, excludedConnectionIds, cancellationToken);

    public ValueTask<WibeSocketDeliveryResult> SendToConnectionAsync(string connectionId, WibeSocketPreparedMessage message, CancellationToken cancellationToken = default) =>
        _connections.SendToConnectionAsync(connectionId, message, cancellationToken);

    public ValueTask<WibeSocketDeliveryResult> SendToUserAsync(string userId, WibeSocketPreparedMessage message, CancellationToken cancellationToken = default) =>
        _connections.SendToUserAsync(userId, message, cancellationToken);

    public ValueTask<WibeSocketDeliveryResult> SendToGroupAsync(string group, WibeSocketPreparedMessage message, CancellationToken cancellationToken = default) =>
        _connections.SendToGroupAsync(group, message, cancellationToken);

    public ValueTask<WibeSocketDeliveryResult> SendToGroupExceptAsync(string group, WibeSocketPreparedMessage message, IReadOnlyCollection<string> excludedConnectionIds, CancellationToken cancellationToken = default) =>
        _connections.SendToGroupExceptAsync(group, message, excludedConnectionIds, cancellationToken);

    public ValueTask AddToGroupAsync(string connectionId, string group, CancellationToken cancellationToken = default) =>
        _connections.AddToGroupAsync(connectionId, group, cancellationToken);

    public ValueTask RemoveFromGroupAsync(string connectionId, string group, CancellationToken cancellationToken = default) =>
        _connections.RemoveFromGroupAsync(connectionId, group, cancellationToken);

    public IReadOnlyList<string> GetGroupMembers(string group) => _connections.GetGroupMembers(group);
}
