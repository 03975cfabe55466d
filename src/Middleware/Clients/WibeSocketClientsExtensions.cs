namespace Shockwave;

/// <summary>Sends of text and bytes to an audience, each framed once for all its recipients.</summary>
public static class WibeSocketClientsExtensions
{
    /// <summary>Sends a text message to every connection of the endpoint.</summary>
    public static async ValueTask<WibeSocketDeliveryResult> SendToAllAsync(this IWibeSocketClients clients, string text, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(clients);
        using var message = WibeSocketPreparedMessage.CreateText(text);
        return await clients.SendToAllAsync(message, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Sends a message to every connection of the endpoint.</summary>
    public static async ValueTask<WibeSocketDeliveryResult> SendToAllAsync(this IWibeSocketClients clients, ReadOnlyMemory<byte> payload, WibeSocketMessageType type, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(clients);
        using var message = WibeSocketPreparedMessage.Create(payload.Span, type);
        return await clients.SendToAllAsync(message, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Sends a text message to one connection.</summary>
    public static async ValueTask<WibeSocketDeliveryResult> SendToConnectionAsync(this IWibeSocketClients clients, string connectionId, string text, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(clients);
        using var message = WibeSocketPreparedMessage.CreateText(text);
        return await clients.SendToConnectionAsync(connectionId, message, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Sends a text message to every connection of a user.</summary>
    public static async ValueTask<WibeSocketDeliveryResult> SendToUserAsync(this IWibeSocketClients clients, string userId, string text, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(clients);
        using var message = WibeSocketPreparedMessage.CreateText(text);
        return await clients.SendToUserAsync(userId, message, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Sends a text message to every member of a group.</summary>
    public static async ValueTask<WibeSocketDeliveryResult> SendToGroupAsync(this IWibeSocketClients clients, string group, string text, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(clients);
        using var message = WibeSocketPreparedMessage.CreateText(text);
        return await clients.SendToGroupAsync(group, message, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Sends a message to every member of a group.</summary>
    public static async ValueTask<WibeSocketDeliveryResult> SendToGroupAsync(this IWibeSocketClients clients, string group, ReadOnlyMemory<byte> payload, WibeSocketMessageType type, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(clients);
        using var message = WibeSocketPreparedMessage.Create(payload.Span, type);
        return await clients.SendToGroupAsync(group, message, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Passes a received message on, unchanged, to every other connection of the endpoint (a chat relay, a fan-out).</summary>
    public static async ValueTask<WibeSocketDeliveryResult> SendToOthersAsync(this IWibeSocketClients clients, WibeSocket sender, WibeSocketMessage message, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(clients);
        ArgumentNullException.ThrowIfNull(sender);
        using var prepared = WibeSocketPreparedMessage.Create(message);
        return await clients.SendToAllExceptAsync(prepared, [sender.ConnectionId], cancellationToken).ConfigureAwait(false);
    }
}
