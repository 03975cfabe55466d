namespace Shockwave.Middleware.Tests.Listener;

/// <summary>
/// A manual <see cref="TimeProvider"/>: time moves only when a test calls <see cref="Advance"/>, which fires the timers
/// that came due. Lets the handshake deadline be tested without sleeping.
/// </summary>
internal sealed class ListenerClock : TimeProvider
{
    private readonly Lock _gate = new();
    private readonly List<Timer> _timers = [];
    private long _ticks = TimeSpan.FromDays(1).Ticks;

    public override long TimestampFrequency => TimeSpan.TicksPerSecond;

    public override long GetTimestamp()
    {
        lock (_gate)
        {
            return _ticks;
        }
    }

    public override DateTimeOffset GetUtcNow() => new(GetTimestamp(), TimeSpan.Zero);

    public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period)
    {
        var timer = new Timer(this, callback, state);
        timer.Change(dueTime, period);
        return timer;
    }

    /// <summary>How many armed timers have exactly this due time from their arming (the handshake deadline's, say).</summary>
    public int CountTimers(TimeSpan dueTime)
    {
        lock (_gate)
        {
            return _timers.Count(t => t.Interval == dueTime);
        }
    }

    /// <summary>Waits, bounded, until <paramref name="count"/> timers armed for <paramref name="dueTime"/> exist.</summary>
    public async Task WaitForTimersAsync(TimeSpan dueTime, int count = 1)
    {
        using var timeout = new CancellationTokenSource(ListenerHost.Timeout);
        while (CountTimers(dueTime) < count)
        {
            await Task.Delay(10, timeout.Token);
        }
    }

    public void Advance(TimeSpan by)
    {
        List<Timer> due;
        lock (_gate)
        {
            _ticks += by.Ticks;
            due = _timers.Where(t => t.DueAt <= _ticks).ToList();
            foreach (var timer in due)
            {
                if (timer.Period > 0)
                {
                    timer.DueAt = _ticks + timer.Period;
                }
                else
                {
                    _timers.Remove(timer);
                }
            }
        }

        foreach (var timer in due)
        {
            timer.Fire();
        }
    }

    private sealed class Timer(ListenerClock clock, TimerCallback callback, object? state) : ITimer
    {
        public long DueAt { get; set; }

        public long Period { get; private set; }

        public TimeSpan Interval { get; private set; }

        public void Fire() => callback(state);

        public bool Change(TimeSpan dueTime, TimeSpan period)
        {
            lock (clock._gate)
            {
                clock._timers.Remove(this);
                if (dueTime == Timeout.InfiniteTimeSpan)
                {
                    return true;
                }

                Interval = dueTime;
                DueAt = clock._ticks + dueTime.Ticks;
                Period = period == Timeout.InfiniteTimeSpan ? 0 : period.Ticks;
                clock._timers.Add(this);
                return true;
            }
        }

        public void Dispose()
        {
            lock (clock._gate)
            {
                clock._timers.Remove(this);
            }
        }

        public ValueTask DisposeAsync()
        {
            Dispose();
            return ValueTask.CompletedTask;
        }
    }
}
