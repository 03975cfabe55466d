using System.Collections.Concurrent;
using System.IO.Pipelines;

namespace Shockwave.Transport;

/// <summary>
/// Where send loops resume after a flush: one thread-pool item drains every send queued meanwhile, instead of one item
/// per connection. A broadcast flushes a thousand connections at once; as separate items that cost a fifth of the
/// throughput of Kestrel's socket transport, whose I/O queues batch the same way (docs/performance.md).
/// </summary>
internal sealed class SendQueue : PipeScheduler, IThreadPoolWorkItem
{
    private readonly ConcurrentQueue<(Action<object?> Action, object? State)> _work = new();
    private int _scheduled;

    public override void Schedule(Action<object?> action, object? state)
    {
        _work.Enqueue((action, state));
        if (Interlocked.CompareExchange(ref _scheduled, 1, 0) == 0)
        {
            System.Threading.ThreadPool.UnsafeQueueUserWorkItem(this, preferLocal: false);
        }
    }

    void IThreadPoolWorkItem.Execute()
    {
        while (true)
        {
            while (_work.TryDequeue(out var item))
            {
                item.Action(item.State);
            }

            Volatile.Write(ref _scheduled, 0);

            // A send queued between the last dequeue and the reset would otherwise wait for the next Schedule.
            if (_work.IsEmpty || Interlocked.CompareExchange(ref _scheduled, 1, 0) != 0)
            {
                return;
            }
        }
    }
}
