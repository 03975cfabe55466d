using System.Threading.Tasks.Sources;

namespace Shockwave.Runtime;

/// <summary>
/// An auto-reset signal with a single waiter and no allocation per wait: the runtime's hand-off between its read loop
/// and the handler. <see cref="Set"/> before <see cref="WaitAsync"/> completes the next wait synchronously.
/// </summary>
internal sealed class AsyncSignal : IValueTaskSource
{
    private readonly Lock _gate = new();
    private ManualResetValueTaskSourceCore<bool> _core;
    private bool _signalled;
    private bool _waiting;

    public AsyncSignal() => _core = new ManualResetValueTaskSourceCore<bool> { RunContinuationsAsynchronously = true };

    public ValueTask WaitAsync()
    {
        lock (_gate)
        {
            if (_signalled)
            {
                _signalled = false;
                return ValueTask.CompletedTask;
            }

            if (_waiting)
            {
                throw new InvalidOperationException("Only one wait may be pending at a time.");
            }

            _waiting = true;
            _core.Reset();
            return new ValueTask(this, _core.Version);
        }
    }

    public void Set()
    {
        lock (_gate)
        {
            if (!_waiting)
            {
                _signalled = true;
                return;
            }

            _waiting = false;
        }

        _core.SetResult(true);
    }

    void IValueTaskSource.GetResult(short token) => _core.GetResult(token);

    ValueTaskSourceStatus IValueTaskSource.GetStatus(short token) => _core.GetStatus(token);

    void IValueTaskSource.OnCompleted(Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags) =>
        _core.OnCompleted(continuation, state, token, flags);
}
