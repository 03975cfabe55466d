using System.IO.Pipelines;

namespace Shockwave.Transport;

/// <summary>
/// The options of every connection's two pipes, made once per listener: <see cref="PipeOptions"/> is immutable, and
/// a pair per connection would be two more objects on each idle connection.
/// </summary>
internal sealed class ConnectionPipeOptions
{
    private readonly PipeOptions[] _outputs;
    private int _nextOutput;

    public ConnectionPipeOptions(BlockMemoryPool pool, ShockwaveTransportOptions options)
    {
        // The application resumes on the thread pool: the receive loop itself already runs there (socket completions come
        // from the thread pool, with no I/O queue in between as in Kestrel's transport). Running the application inline
        // in the receive loop's flush, and the send loop inline in the application's flush, was measured too: no faster
        // for Shockwave, and the stock WebSocket stack lost its write batching (one send per message, a fifth of the
        // throughput); docs/performance.md.
        Input = new PipeOptions(pool, readerScheduler: PipeScheduler.ThreadPool, writerScheduler: PipeScheduler.ThreadPool,
            pauseWriterThreshold: options.MaxReadBufferSize, resumeWriterThreshold: options.MaxReadBufferSize / 2,
            minimumSegmentSize: BlockMemoryPool.SmallBlockSize, useSynchronizationContext: false);
        // Send loops resume on a few send queues, one per core as Kestrel's I/O queues, connections spread over them.
        _outputs = new PipeOptions[Math.Clamp(Environment.ProcessorCount, 1, 16)];
        for (var i = 0; i < _outputs.Length; i++)
        {
            _outputs[i] = new PipeOptions(pool, readerScheduler: new SendQueue(), writerScheduler: PipeScheduler.ThreadPool,
                pauseWriterThreshold: options.MaxWriteBufferSize, resumeWriterThreshold: options.MaxWriteBufferSize / 2,
                minimumSegmentSize: BlockMemoryPool.SmallBlockSize, useSynchronizationContext: false);
        }
    }

    /// <summary>Received bytes, written by the receive loop, read by Kestrel and the application.</summary>
    public PipeOptions Input { get; }

    /// <summary>Bytes to send, written by the application, read by the send loop; each call the next send queue's.</summary>
    public PipeOptions NextOutput() => _outputs[(int)((uint)Interlocked.Increment(ref _nextOutput) % (uint)_outputs.Length)];
}
