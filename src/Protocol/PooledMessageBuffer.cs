using System.Buffers;

namespace Shockwave.Protocol;

/// <summary>
/// A message held in pooled memory: one that did not arrive whole, copied in as its pieces arrive, or an outgoing
/// message being deflated. Its owner bounds the total (the frame reader and inflater bound it by the message size
/// limit); it grows by doubling, so a large message costs O(log n) rentals. Also an <see cref="IBufferWriter{T}"/>, so
/// the inflater and the deflater can write into it.
/// </summary>
public sealed class PooledMessageBuffer : IBufferWriter<byte>, IDisposable
{
    private const int InitialSize = 4096;

    private readonly long _maxSize;
    private byte[] _buffer;
    private int _length;

    /// <summary>Creates a buffer that grows in doublings up to <paramref name="maxSize"/> (beyond it, only as needed).</summary>
    public PooledMessageBuffer(long maxSize)
    {
        _maxSize = maxSize;
        _buffer = ArrayPool<byte>.Shared.Rent(InitialSize);
    }

    /// <summary>The bytes written so far.</summary>
    public int Length => _length;

    /// <summary>Copies <paramref name="payload"/> in after what is already there.</summary>
    public void Append(in ReadOnlySequence<byte> payload)
    {
        foreach (var memory in payload)
        {
            var span = memory.Span;
            EnsureCapacity(span.Length);
            span.CopyTo(_buffer.AsSpan(_length));
            _length += span.Length;
        }
    }

    /// <summary>What was written, valid until <see cref="Dispose"/>.</summary>
    public ReadOnlySequence<byte> GetPayload() => new(_buffer, 0, _length);

    /// <summary>What was written, as a span.</summary>
    public ReadOnlySpan<byte> WrittenSpan => _buffer.AsSpan(0, _length);

    /// <inheritdoc />
    public void Advance(int count) => _length += count;

    /// <inheritdoc />
    public Memory<byte> GetMemory(int sizeHint = 0)
    {
        EnsureCapacity(Math.Max(sizeHint, 1));
        return _buffer.AsMemory(_length);
    }

    /// <inheritdoc />
    public Span<byte> GetSpan(int sizeHint = 0) => GetMemory(sizeHint).Span;

    /// <summary>Returns the buffer to the pool; the instance may be used again and rents on demand.</summary>
    public void Dispose()
    {
        var buffer = _buffer;
        _buffer = [];
        _length = 0;
        if (buffer.Length > 0)
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    private void EnsureCapacity(int additional)
    {
        long required = (long)_length + additional;
        if (required <= _buffer.Length)
        {
            return;
        }

        long size = Math.Max(required, Math.Min(Math.Max((long)_buffer.Length * 2, InitialSize), Math.Max(_maxSize, required)));
        if (size > Array.MaxLength)
        {
            throw new InvalidOperationException("The message is larger than a single buffer can hold.");
        }

        var grown = ArrayPool<byte>.Shared.Rent((int)size);
        _buffer.AsSpan(0, _length).CopyTo(grown);
        if (_buffer.Length > 0)
        {
            ArrayPool<byte>.Shared.Return(_buffer);
        }

        _buffer = grown;
    }
}
