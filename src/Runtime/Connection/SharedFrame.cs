using System.Buffers;

namespace Shockwave.Runtime;

/// <summary>
/// A frame built once and written to many connections (a broadcast): the whole wire form, header and payload, in pooled
/// memory with a reference count. Every connection that queues it takes a reference and drops it once the bytes are in
/// its transport (or it discards them); the memory returns to the pool when the last reference goes, so a broadcast to
/// any number of recipients costs one buffer.
/// </summary>
internal sealed class SharedFrame
{
    private readonly ArrayPool<byte> _pool;
    private byte[]? _buffer;
    private int _references = 1;

    private SharedFrame(ArrayPool<byte> pool, int length)
    {
        _pool = pool;
        _buffer = pool.Rent(length);
        Length = length;
    }

    /// <summary>The frame's length on the wire.</summary>
    public int Length { get; }

    /// <summary>The frame's bytes; valid while the caller holds a reference.</summary>
    public ReadOnlySpan<byte> Bytes => (_buffer ?? throw new ObjectDisposedException(nameof(SharedFrame))).AsSpan(0, Length);

    /// <summary>Rents a frame of <paramref name="length"/> bytes holding one reference, the caller's.</summary>
    public static SharedFrame Rent(int length, ArrayPool<byte>? pool = null) => new(pool ?? ArrayPool<byte>.Shared, length);

    /// <summary>Where the builder writes the frame, before it is shared.</summary>
    public Span<byte> GetWritableSpan() => _buffer.AsSpan(0, Length);

    public void AddReference()
    {
        if (Interlocked.Increment(ref _references) <= 1)
        {
            throw new InvalidOperationException("The frame was already returned to the pool.");
        }
    }

    public void Release()
    {
        int remaining = Interlocked.Decrement(ref _references);
        if (remaining == 0)
        {
            var buffer = Interlocked.Exchange(ref _buffer, null);
            if (buffer is not null)
            {
                _pool.Return(buffer);
            }
        }
        else if (remaining < 0)
        {
            throw new InvalidOperationException("The frame was released more often than it was referenced.");
        }
    }
}

/// <summary>What happened to a frame offered to a connection's send queue.</summary>
internal enum QueueResult
{
    /// <summary>Queued (or already written): it leaves in order with the connection's other sends.</summary>
    Queued,

    /// <summary>The connection's queued bytes would pass its budget: the slow-consumer policy applies.</summary>
    OverBudget,

    /// <summary>The connection is closing or closed: nothing is sent after a close frame (RFC 6455 section 5.5.1).</summary>
    Closed,
}
