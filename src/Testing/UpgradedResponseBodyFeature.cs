using System.IO.Pipelines;
using Microsoft.AspNetCore.Http.Features;

namespace Shockwave.Testing;

/// <summary>
/// The response body after an upgrade: every write or flush throws <see cref="InvalidOperationException"/>, as
/// Kestrel's does once the connection belongs to the upgraded protocol. Getting the stream or writer does not throw,
/// so middleware that only looks at them keeps working.
/// </summary>
internal sealed class UpgradedResponseBodyFeature : IHttpResponseBodyFeature
{
    internal const string Message = "The response body cannot be written after the connection was upgraded; write to the stream IHttpUpgradeFeature.UpgradeAsync returned.";

    public Stream Stream { get; } = new UpgradedResponseStream();

    public PipeWriter Writer { get; } = new UpgradedResponseWriter();

    public Task CompleteAsync() => Task.CompletedTask;

    public void DisableBuffering()
    {
    }

    public Task SendFileAsync(string path, long offset, long? count, CancellationToken cancellationToken = default) =>
        throw new InvalidOperationException(Message);

    // The response started with the 101.
    public Task StartAsync(CancellationToken cancellationToken = default) => Task.CompletedTask;

    private sealed class UpgradedResponseStream : Stream
    {
        public override bool CanRead => false;

        public override bool CanSeek => false;

        public override bool CanWrite => true;

        public override long Length => throw new NotSupportedException();

        public override long Position
        {
            get => throw new NotSupportedException();
            set => throw new NotSupportedException();
        }

        public override void Flush() => throw new InvalidOperationException(Message);

        public override Task FlushAsync(CancellationToken cancellationToken) => throw new InvalidOperationException(Message);

        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => throw new InvalidOperationException(Message);

        public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
            throw new InvalidOperationException(Message);

        public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default) =>
            throw new InvalidOperationException(Message);
    }

    private sealed class UpgradedResponseWriter : PipeWriter
    {
        public override void Advance(int bytes) => throw new InvalidOperationException(Message);

        public override void CancelPendingFlush()
        {
        }

        public override void Complete(Exception? exception = null)
        {
        }

        public override ValueTask<FlushResult> FlushAsync(CancellationToken cancellationToken = default) =>
            throw new InvalidOperationException(Message);

        public override Memory<byte> GetMemory(int sizeHint = 0) => throw new InvalidOperationException(Message);

        public override Span<byte> GetSpan(int sizeHint = 0) => throw new InvalidOperationException(Message);

        public override ValueTask<FlushResult> WriteAsync(ReadOnlyMemory<byte> source, CancellationToken cancellationToken = default) =>
            throw new InvalidOperationException(Message);
    }
}
