using System.Buffers;
using System.IO.Pipelines;

namespace Shockwave.Testing;

/// <summary>
/// The server's end of the in-memory connection: reads what the test client wrote and writes what the client reads.
/// It stands in for the upgraded socket stream Kestrel returns from <c>UpgradeAsync</c>.
/// </summary>
/// <remarks>
/// Writes after the client went away are discarded without an error, as Kestrel's output does once a connection is
/// closed; the app learns of the disconnect from <c>HttpContext.RequestAborted</c> or from a read returning 0.
/// </remarks>
internal sealed class DuplexPipeStream : Stream
{
    private readonly PipeReader _input;
    private readonly PipeWriter _output;
    private int _completed;

    public DuplexPipeStream(PipeReader input, PipeWriter output)
    {
        _input = input;
        _output = output;
    }

    public override bool CanRead => true;

    public override bool CanWrite => true;

    public override bool CanSeek => false;

    public override long Length => throw new NotSupportedException();

    public override long Position
    {
        get => throw new NotSupportedException();
        set => throw new NotSupportedException();
    }

    public bool IsCompleted => Volatile.Read(ref _completed) != 0;

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        ObjectDisposedException.ThrowIf(IsCompleted, this);
        while (true)
        {
            var result = await _input.ReadAsync(cancellationToken).ConfigureAwait(false);
            var data = result.Buffer;
            if (result.IsCanceled)
            {
                _input.AdvanceTo(data.Start);
                throw new OperationCanceledException("The read was canceled.");
            }

            // A zero-byte read waits until data is available without consuming any (Stream's convention, which
            // servers use to avoid holding a buffer on an idle connection).
            if (buffer.IsEmpty || data.IsEmpty)
            {
                _input.AdvanceTo(data.Start);
                if (buffer.IsEmpty || result.IsCompleted)
                {
                    return 0;
                }

                continue;
            }

            int count = (int)Math.Min(data.Length, buffer.Length);
            var consumed = data.Slice(0, count);
            consumed.CopyTo(buffer.Span);
            _input.AdvanceTo(consumed.End);
            return count;
        }
    }

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override int Read(byte[] buffer, int offset, int count) =>
        ReadAsync(buffer.AsMemory(offset, count)).AsTask().GetAwaiter().GetResult();

    public override async ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
    {
        ObjectDisposedException.ThrowIf(IsCompleted, this);
        await _output.WriteAsync(buffer, cancellationToken).ConfigureAwait(false);
    }

    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override void Write(byte[] buffer, int offset, int count) =>
        WriteAsync(buffer.AsMemory(offset, count)).AsTask().GetAwaiter().GetResult();

    public override async Task FlushAsync(CancellationToken cancellationToken)
    {
        ObjectDisposedException.ThrowIf(IsCompleted, this);
        await _output.FlushAsync(cancellationToken).ConfigureAwait(false);
    }

    public override void Flush() => FlushAsync(CancellationToken.None).GetAwaiter().GetResult();

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    /// <summary>
    /// Closes the server's end: the client reads end of stream after what was already written. Called when the app
    /// disposes the stream, and by the client once the request has ended (Kestrel closes the connection when the app
    /// returns from an upgraded request).
    /// </summary>
    public void Complete()
    {
        if (Interlocked.Exchange(ref _completed, 1) != 0)
        {
            return;
        }

        _output.Complete();
        _input.Complete();
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            Complete();
        }

        base.Dispose(disposing);
    }

    public override async ValueTask DisposeAsync()
    {
        Complete();
        await base.DisposeAsync().ConfigureAwait(false);
    }
}
