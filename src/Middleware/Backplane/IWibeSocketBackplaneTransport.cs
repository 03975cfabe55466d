namespace Shockwave.Backplane;

/// <summary>
/// The broker under a backplane: named channels, publish and subscribe, at most once. Everything else (envelopes,
/// which channels a node needs, sequence numbers and gap detection, delivery to local connections) is the library's,
/// so another broker is one small class. <c>Shockwave.Backplane.Redis</c> is the Redis one.
/// </summary>
/// <remarks>
/// A transport must hand the messages of one channel to <see cref="IWibeSocketBackplaneReceiver.OnMessage"/> one at
/// a time and in the order the broker delivered them (per-sender order is what the library's ordering guarantee rests
/// on). It must never throw from a publish because the broker is unreachable: it returns false.
/// </remarks>
public interface IWibeSocketBackplaneTransport : IAsyncDisposable
{
    /// <summary>Whether the broker is reachable now (the health check reports this).</summary>
    bool IsConnected { get; }

    /// <summary>
    /// Starts connecting and returns without waiting for the broker: an application whose broker is down must still
    /// start. The transport reports connection changes to <paramref name="receiver"/>.
    /// </summary>
    Task StartAsync(IWibeSocketBackplaneReceiver receiver, CancellationToken cancellationToken);

    /// <summary>Publishes one message; false when the broker did not take it (unreachable, timed out). Never throws for that.</summary>
    ValueTask<bool> PublishAsync(string channel, ReadOnlyMemory<byte> message, CancellationToken cancellationToken);

    /// <summary>Subscribes to a channel; throws when the broker cannot be reached (the library retries after a reconnect).</summary>
    Task SubscribeAsync(string channel, CancellationToken cancellationToken);

    /// <summary>Unsubscribes from a channel.</summary>
    Task UnsubscribeAsync(string channel, CancellationToken cancellationToken);
}

/// <summary>What a <see cref="IWibeSocketBackplaneTransport"/> reports to the library.</summary>
public interface IWibeSocketBackplaneReceiver
{
    /// <summary>
    /// A message arrived on a subscribed channel. The memory is valid only during the call: the library frames it once
    /// for its local recipients before returning.
    /// </summary>
    void OnMessage(string channel, ReadOnlyMemory<byte> message);

    /// <summary>The subscription connection to the broker was lost: whatever was published meanwhile is gone.</summary>
    void OnConnectionLost(string reason);

    /// <summary>The connection is back (the transport has restored its subscriptions).</summary>
    void OnConnectionRestored();
}
