using System.Threading.Tasks.Sources;

namespace Shockwave.Runtime;

/// <summary>
/// An auto-reset signal with a single waiter and no allocation per wait: the runtime's hand-off between its read loop
/// and the handler. <see cref="Set"/> before <see cref="WaitAsync"/> completes the next wait synchronously.
/// </summary>
/// <remarks>
/// Lock-free (one state word moved by compare-and-swap): every connection carries two of these, and a lock object each
/// would be memory an idle connection pays for.
/// </remarks>
internal sealed class AsyncSignal : IValueTaskSource
{
    private const int Idle = 0;
    private const int Signalled = 1;
    private const int Waiting = 2;

    private ManualResetValueTaskSourceCore<bool> _core;
    private int _state;

    public AsyncSignal() => _core = new ManualResetValueTaskSourceCore<bool> { RunContinuationsAsynchronously = true };

    public ValueTask WaitAsync()
    {
        if (Interlocked.CompareExchange(ref _state, Idle, Signalled) == Signalled)
        {
            return ValueTask.CompletedTask;
        }

        // Reset before the wait is published: Set completes the core only after it has seen Waiting.
        _core.Reset();
        int previous = Interlocked.CompareExchange(ref _state, Waiting, Idle);
        if (previous == Idle)
        {
            return new ValueTask(this, _core.Version);
        }

        if (previous == Waiting)
        {
            throw new InvalidOperationException("Only one wait may be pending at a time.");
        }

        // Set between the two steps: take its signal.
        Volatile.Write(ref _state, Idle);
        return ValueTask.CompletedTask;
    }

    public void Set()
    {
        while (true)
        {
            switch (Volatile.Read(ref _state))
            {
                case Waiting when Interlocked.CompareExchange(ref _state, Idle, Waiting) == Waiting:
                    _core.SetResult(true);
                    return;
                case Signalled:
                    return;
                case Idle when Interlocked.CompareExchange(ref _state, Signalled, Idle) == Idle:
                    return;
            }
        }
    }

    void IValueTaskSource.GetResult(short token) => _core.GetResult(token);

    ValueTaskSourceStatus IValueTaskSource.GetStatus(short token) => _core.GetStatus(token);

    void IValueTaskSource.OnCompleted(Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags) =>
        _core.OnCompleted(continuation, state, token, flags);
}
