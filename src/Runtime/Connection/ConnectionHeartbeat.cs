namespace Shockwave.Runtime;

/// <summary>
/// One timer for all connections instead of one per socket (as Kestrel's heartbeat): each tick asks every open
/// connection to check its keep-alive and close deadlines. Runs on the injected <see cref="TimeProvider"/>, so tests
/// drive it with a manual clock.
/// </summary>
internal sealed class ConnectionHeartbeat : IDisposable
{
    /// <summary>The tick; keep-alive and close deadlines are honoured to within this much.</summary>
    public static readonly TimeSpan Interval = TimeSpan.FromSeconds(1);

    private readonly Lock _gate = new();
    private readonly HashSet<WibeSocketConnection> _connections = [];
    private readonly TimeProvider _timeProvider;
    private ITimer? _timer;
    private WibeSocketConnection[] _snapshot = [];

    private long _lastTickAt;

    public ConnectionHeartbeat(TimeProvider timeProvider) => _timeProvider = timeProvider;

    /// <summary>
    /// How long since the last tick, or null before the first connection started the timer. Liveness: a heartbeat that
    /// stopped ticking means keep-alive and close deadlines are no longer enforced (a starved thread pool, say).
    /// </summary>
    public TimeSpan? SinceLastTick
    {
        get
        {
            lock (_gate)
            {
                if (_timer is null)
                {
                    return null;
                }
            }

            long last = Volatile.Read(ref _lastTickAt);
            return last == 0 ? null : _timeProvider.GetElapsedTime(last);
        }
    }

    public void Register(WibeSocketConnection connection)
    {
        lock (_gate)
        {
            _connections.Add(connection);
            _timer ??= _timeProvider.CreateTimer(static state => ((ConnectionHeartbeat)state!).Tick(), this, Interval, Interval);
        }
    }

    public void Unregister(WibeSocketConnection connection)
    {
        lock (_gate)
        {
            _connections.Remove(connection);
        }
    }

    /// <summary>Runs one tick now; the timer calls it, and tests may too.</summary>
    public void Tick()
    {
        WibeSocketConnection[] connections;
        int count;
        lock (_gate)
        {
            count = _connections.Count;
            if (_snapshot.Length < count)
            {
                _snapshot = new WibeSocketConnection[Math.Max(count, _snapshot.Length * 2)];
            }

            _connections.CopyTo(_snapshot);
            connections = _snapshot;
        }

        long now = _timeProvider.GetTimestamp();
        Volatile.Write(ref _lastTickAt, now);
        for (int i = 0; i < count; i++)
        {
            try
            {
                connections[i].OnHeartbeat(now);
            }
            catch (ObjectDisposedException)
            {
                // The connection ended between the snapshot and this call and its request's features are disposed
                // (aborting it reaches HttpContext.Abort): there is nothing left to abort. An exception escaping a
                // timer callback would bring the whole process down.
            }
        }
    }

    public void Dispose()
    {
        lock (_gate)
        {
            _timer?.Dispose();
            _timer = null;
        }
    }
}
