using System.Buffers;
using System.Collections.Concurrent;
using System.Runtime.InteropServices;

namespace Shockwave.Transport;

/// <summary>
/// The transport's buffers: pinned blocks in two sizes, 4 KiB for everything small (HTTP heads, WebSocket frames, the
/// first receive after a wait) and <see cref="ShockwaveTransportOptions.MaxReceiveSize"/> for a peer that streams.
/// Blocks live on the pinned object heap, so a socket call never pins them, and are reused up to a retention cap.
/// <see cref="RentedBlocks"/> counts what is out: it returns to zero when every connection has closed, which the tests
/// check for leaks and the <c>shockwave.transport.memory.rented</c> gauge reports.
/// </summary>
internal sealed class BlockMemoryPool : MemoryPool<byte>
{
    internal const int SmallBlockSize = 4096;

    private readonly BlockSize _small;
    private readonly BlockSize _large;
    private long _rentedBlocks;
    private long _rentedBytes;
    private bool _disposed;

    public BlockMemoryPool(int largeBlockSize, int maxRetainedSmall, int maxRetainedLarge)
    {
        _small = new BlockSize(SmallBlockSize, maxRetainedSmall);
        _large = new BlockSize(Math.Max(SmallBlockSize, largeBlockSize), maxRetainedLarge);
    }

    /// <summary>The largest block; a pipe asks <see cref="ArrayPool{T}"/> for anything larger.</summary>
    public override int MaxBufferSize => _large.Size;

    public long RentedBlocks => Interlocked.Read(ref _rentedBlocks);

    public long RentedBytes => Interlocked.Read(ref _rentedBytes);

    public override IMemoryOwner<byte> Rent(int minBufferSize = -1)
    {
        ArgumentOutOfRangeException.ThrowIfGreaterThan(minBufferSize, MaxBufferSize);
        var size = minBufferSize <= SmallBlockSize ? _small : _large;
        var block = size.TryTake() ?? new Block(this, size);
        Interlocked.Increment(ref _rentedBlocks);
        Interlocked.Add(ref _rentedBytes, size.Size);
        return block;
    }

    private void Return(Block block)
    {
        Interlocked.Decrement(ref _rentedBlocks);
        Interlocked.Add(ref _rentedBytes, -block.Size.Size);
        if (!Volatile.Read(ref _disposed))
        {
            block.Size.TryKeep(block);
        }
    }

    protected override void Dispose(bool disposing)
    {
        Volatile.Write(ref _disposed, true);
        _small.Clear();
        _large.Clear();
    }

    /// <summary>One size of block and the blocks of that size kept for reuse.</summary>
    private sealed class BlockSize(int size, int maxRetained)
    {
        private readonly ConcurrentQueue<Block> _free = new();
        private int _count;

        public int Size { get; } = size;

        public Block? TryTake()
        {
            if (_free.TryDequeue(out var block))
            {
                Interlocked.Decrement(ref _count);
                block.Rented();
                return block;
            }

            return null;
        }

        public void TryKeep(Block block)
        {
            // The count can overshoot the cap by the number of racing returns: a bound, not an exact figure.
            if (Interlocked.Increment(ref _count) <= maxRetained)
            {
                _free.Enqueue(block);
            }
            else
            {
                Interlocked.Decrement(ref _count);
            }
        }

        public void Clear()
        {
            while (_free.TryDequeue(out _))
            {
                Interlocked.Decrement(ref _count);
            }
        }
    }

    private sealed class Block : IMemoryOwner<byte>
    {
        private readonly BlockMemoryPool _pool;
        private int _returned;

        public Block(BlockMemoryPool pool, BlockSize size)
        {
            _pool = pool;
            Size = size;
            var array = GC.AllocateUninitializedArray<byte>(size.Size, pinned: true);
            Memory = MemoryMarshal.CreateFromPinnedArray(array, 0, array.Length);
        }

        public BlockSize Size { get; }

        public Memory<byte> Memory { get; }

        public void Rented() => Volatile.Write(ref _returned, 0);

        public void Dispose()
        {
            // A pipe returns each block once; the guard keeps a double dispose from corrupting the count.
            if (Interlocked.Exchange(ref _returned, 1) == 0)
            {
                _pool.Return(this);
            }
        }
    }
}
