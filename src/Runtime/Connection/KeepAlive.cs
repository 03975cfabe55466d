namespace Shockwave.Runtime;

/// <summary>What the heartbeat must do for a connection's keep-alive.</summary>
internal enum KeepAliveAction
{
    None,

    /// <summary>The peer has been silent for the interval: send a ping (RFC 6455 section 5.5.2).</summary>
    SendPing,

    /// <summary>Nothing arrived within the timeout after our ping: the peer is gone.</summary>
    TimedOut,
}

/// <summary>
/// Keep-alive for one connection: pings a peer silent for <c>interval</c> and declares it dead when nothing at all
/// (any frame, not just the pong) arrives within <c>timeout</c> of the ping. Any received byte counts as life, so a
/// busy connection never pings. Decides only; the connection sends the ping or aborts.
/// </summary>
/// <remarks>A mutable struct held in the connection (no object of its own per connection): never copy it.</remarks>
internal struct KeepAlive
{
    private readonly TimeProvider _time;
    private readonly TimeSpan _interval;
    private readonly TimeSpan _timeout;

    // Written by the read loop, read by the heartbeat.
    private long _lastReceivedAt;

    // Only the heartbeat touches this.
    private long _pingSentAt;

    public KeepAlive(TimeProvider time, TimeSpan interval, TimeSpan timeout, long openedAt)
    {
        _time = time;
        _interval = interval;
        _timeout = timeout;
        _lastReceivedAt = openedAt;
    }

    public void OnReceived(long now) => Volatile.Write(ref _lastReceivedAt, now);

    /// <summary>Called by the heartbeat (one caller at a time).</summary>
    public KeepAliveAction Check(long now)
    {
        if (_interval <= TimeSpan.Zero)
        {
            return KeepAliveAction.None;
        }

        long lastReceived = Volatile.Read(ref _lastReceivedAt);
        if (_pingSentAt != 0 && lastReceived < _pingSentAt)
        {
            if (_time.GetElapsedTime(_pingSentAt, now) < _timeout)
            {
                return KeepAliveAction.None;
            }

            _pingSentAt = 0;
            return KeepAliveAction.TimedOut;
        }

        if (_time.GetElapsedTime(lastReceived, now) < _interval)
        {
            _pingSentAt = 0;
            return KeepAliveAction.None;
        }

        _pingSentAt = now;
        return KeepAliveAction.SendPing;
    }
}
