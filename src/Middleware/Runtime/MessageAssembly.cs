using System.Buffers;

namespace Shockwave.Runtime;

/// <summary>
/// A message that did not arrive whole, copied into pooled memory as its pieces arrive. The frame reader has already
/// bounded the total by the message size limit; this grows by doubling so a large message costs O(log n) rentals.
/// Also an <see cref="IBufferWriter{T}"/> so the inflater can write into it.
/// </summary>
internal sealed class MessageAssembly : IBufferWriter<byte>, IDisposable
{
    private const int InitialSize = 4096;

    private readonly long _maxSize;
    private byte[] _buffer;
    private int _length;

    public MessageAssembly(long maxSize)
    {
        _maxSize = maxSize;
        _buffer = ArrayPool<byte>.Shared.Rent(InitialSize);
    }

    public int Length => _length;

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

    public ReadOnlySequence<byte> GetPayload() => new(_buffer, 0, _length);

    public ReadOnlySpan<byte> WrittenSpan => _buffer.AsSpan(0, _length);

    public void Advance(int count) => _length += count;

    public Memory<byte> GetMemory(int sizeHint = 0)
    {
        EnsureCapacity(Math.Max(sizeHint, 1));
        return _buffer.AsMemory(_length);
    }

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
