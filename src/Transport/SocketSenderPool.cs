using System.Collections.Concurrent;

namespace Shockwave.Transport;

/// <summary>
/// Senders shared by a listener's connections: a send loop takes one for each send and gives it back, so an idle
/// connection holds none (about 280 bytes each, as Kestrel's socket transport does too).
/// </summary>
internal sealed class SocketSenderPool : IDisposable
{
    // Enough for every connection that can be mid-send at once on a large machine; beyond it a sender is disposed.
    private const int MaxRetained = 1024;

    private readonly ConcurrentQueue<SocketSender> _senders = new();
    private int _count;
    private bool _disposed;

    public SocketSender Rent()
    {
        if (_senders.TryDequeue(out var sender))
        {
            Interlocked.Decrement(ref _count);
            return sender;
        }

        return new SocketSender();
    }

    public void Return(SocketSender sender)
    {
        sender.Reset();
        if (!Volatile.Read(ref _disposed))
        {
            if (Interlocked.Increment(ref _count) <= MaxRetained)
            {
                _senders.Enqueue(sender);
                return;
            }

            Interlocked.Decrement(ref _count);
        }

        sender.Dispose();
    }

    public void Dispose()
    {
        Volatile.Write(ref _disposed, true);
        while (_senders.TryDequeue(out var sender))
        {
            sender.Dispose();
        }
    }
}
