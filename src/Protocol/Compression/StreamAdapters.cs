using System.Buffers;

namespace Shockwave.Protocol.Compression;

/// <summary>
/// The write end <see cref="System.IO.Compression.DeflateStream"/> compresses into: forwards every write to the current
/// <see cref="IBufferWriter{T}"/>, and drops writes while none is set (the final block a disposed stream emits).
/// </summary>
internal sealed class BufferWriterStream : Stream
{
    public IBufferWriter<byte>? Destination { get; set; }

    public override bool CanRead => false;

    public override bool CanSeek => false;

    public override bool CanWrite => true;

    public override long Length => throw new NotSupportedException();

    public override long Position
    {
        get => throw new NotSupportedException();
        set => throw new NotSupportedException();
    }

    public override void Write(byte[] buffer, int offset, int count)
    {
        ValidateBufferArguments(buffer, offset, count);
        Write(buffer.AsSpan(offset, count));
    }

    public override void Write(ReadOnlySpan<byte> buffer) => Destination?.Write(buffer);

    public override void WriteByte(byte value) => Write([value]);

    public override void Flush()
    {
    }

    public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();
}

/// <summary>
/// The read end <see cref="System.IO.Compression.DeflateStream"/> inflates from: serves the bytes of the span the current
/// call attached (through a pointer valid only while the caller keeps it pinned), then reports end of data, which the
/// inflater treats as "need more input", not as an error.
/// </summary>
internal sealed unsafe class SpanFeedStream : Stream
{
    private byte* _source;
    private int _length;
    private int _position;

    public override bool CanRead => true;

    public override bool CanSeek => false;

    public override bool CanWrite => false;

    public override long Length => throw new NotSupportedException();

    public override long Position
    {
        get => throw new NotSupportedException();
        set => throw new NotSupportedException();
    }

    /// <summary>Attaches pinned input; the caller must call <see cref="Detach"/> before unpinning it.</summary>
    public void Attach(byte* source, int length)
    {
        _source = source;
        _length = length;
        _position = 0;
    }

    /// <summary>Detaches the input and returns how many of its bytes were read.</summary>
    public int Detach()
    {
        int consumed = _position;
        _source = null;
        _length = 0;
        _position = 0;
        return consumed;
    }

    public override int Read(byte[] buffer, int offset, int count)
    {
        ValidateBufferArguments(buffer, offset, count);
        return Read(buffer.AsSpan(offset, count));
    }

    public override int Read(Span<byte> buffer)
    {
        int n = Math.Min(buffer.Length, _length - _position);
        if (n <= 0)
        {
            return 0;
        }

        new ReadOnlySpan<byte>(_source + _position, n).CopyTo(buffer);
        _position += n;
        return n;
    }

    public override void Flush()
    {
    }

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
}
