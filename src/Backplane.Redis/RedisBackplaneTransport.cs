using System.Collections.Concurrent;
using StackExchange.Redis;

namespace Shockwave.Backplane.Redis;

/// <summary>
/// Redis pub/sub under the backplane, on one <see cref="ConnectionMultiplexer"/>. Connects with
/// <c>AbortOnConnectFail = false</c> (an application whose Redis is down still starts, and the multiplexer keeps
/// reconnecting and restores its subscriptions) and <see cref="BacklogPolicy.FailFast"/> (a publish while Redis is down
/// fails at once instead of queueing behind the outage, so a send reports it instead of waiting).
/// </summary>
internal sealed class RedisBackplaneTransport(ConfigurationOptions configuration) : IWibeSocketBackplaneTransport
{
    // One queue per channel: a ChannelMessageQueue hands its messages out one at a time, in order (a handler
    // subscription may run them concurrently), which is what per-sender ordering needs.
    private readonly ConcurrentDictionary<string, ChannelMessageQueue> _subscriptions = new(StringComparer.Ordinal);
    private readonly CancellationTokenSource _disposed = new();
    private Task<ConnectionMultiplexer>? _connecting;
    private ConnectionMultiplexer? _redis;
    private IWibeSocketBackplaneReceiver? _receiver;

    public bool IsConnected => _redis is { IsConnected: true };

    public Task StartAsync(IWibeSocketBackplaneReceiver receiver, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(receiver);
        _receiver = receiver;
        _connecting = ConnectAsync();
        return Task.CompletedTask;
    }

    public async ValueTask<bool> PublishAsync(string channel, ReadOnlyMemory<byte> message, CancellationToken cancellationToken)
    {
        if (_redis is not { IsConnected: true } redis)
        {
            return false;
        }

        try
        {
            // Pipelined: the command is written in order on the node's one connection and the send does not wait for
            // Redis's reply (a round trip per message would cap a sender at one message per round trip). A message
            // lost on a connection dying meanwhile is at-most-once delivery; receivers see it as a gap.
            await redis.GetSubscriber().PublishAsync(RedisChannel.Literal(channel), message, CommandFlags.FireAndForget).WaitAsync(cancellationToken).ConfigureAwait(false);
            return true;
        }
        catch (Exception e) when (e is RedisException or TimeoutException or ObjectDisposedException)
        {
            return false;
        }
    }

    public async Task SubscribeAsync(string channel, CancellationToken cancellationToken)
    {
        var redis = await Connected(cancellationToken).ConfigureAwait(false);
        if (_subscriptions.ContainsKey(channel))
        {
            return;
        }

        var subscriber = redis.GetSubscriber();
        var redisChannel = RedisChannel.Literal(channel);
        ChannelMessageQueue queue;
        try
        {
            queue = await subscriber.SubscribeAsync(redisChannel).WaitAsync(cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            // The multiplexer may have kept the channel registered and would restore it on reconnect, beside the one our
            // retry makes: two queues, every message twice. Forget it locally before retrying.
            await subscriber.UnsubscribeAsync(redisChannel, handler: null, CommandFlags.FireAndForget).ConfigureAwait(false);
            throw;
        }

        var receiver = _receiver!;
        queue.OnMessage(message => receiver.OnMessage(channel, (ReadOnlyMemory<byte>)message.Message));
        _subscriptions[channel] = queue;
    }

    public async Task UnsubscribeAsync(string channel, CancellationToken cancellationToken)
    {
        if (_subscriptions.TryRemove(channel, out var queue))
        {
            await queue.UnsubscribeAsync().WaitAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (_disposed.IsCancellationRequested)
        {
            return;
        }

        await _disposed.CancelAsync().ConfigureAwait(false);
        if (_connecting is not null)
        {
            try
            {
                var redis = await _connecting.ConfigureAwait(false);
                await redis.CloseAsync(allowCommandsToComplete: false).ConfigureAwait(false);
                await redis.DisposeAsync().ConfigureAwait(false);
            }
            catch (Exception e) when (e is RedisException or OperationCanceledException)
            {
            }
        }
    }

    private async Task<ConnectionMultiplexer> ConnectAsync()
    {
        var redis = await ConnectionMultiplexer.ConnectAsync(configuration).ConfigureAwait(false);
        redis.ConnectionFailed += (_, e) => _receiver?.OnConnectionLost($"{e.FailureType} on {e.EndPoint}");
        redis.ConnectionRestored += (_, _) => _receiver?.OnConnectionRestored();
        _redis = redis;
        return redis;
    }

    /// <summary>The multiplexer once it has connected; subscriptions wait for it rather than fail and retry in a loop.</summary>
    private async Task<ConnectionMultiplexer> Connected(CancellationToken cancellationToken)
    {
        var redis = await (_connecting ?? throw new InvalidOperationException("The transport has not been started.")).WaitAsync(cancellationToken).ConfigureAwait(false);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, _disposed.Token);
        while (!redis.IsConnected)
        {
            await Task.Delay(TimeSpan.FromMilliseconds(100), linked.Token).ConfigureAwait(false);
        }

        return redis;
    }
}
