using System.IO.Pipelines;
using Shockwave.Diagnostics;

namespace Shockwave.Runtime;

// Flush coalescing. The stock stack flushes (one send syscall) per frame; here a small frame is written into the
// transport pipe and its flush is deferred to a thread-pool work item queued locally, which runs once the current
// burst of work (say, a handler echoing 16 pipelined messages) has yielded. Every frame written until then leaves in
// the same flush. The deferral is bounded: past FlushSliceSize unflushed bytes the sender flushes inline and waits,
// so back-pressure still reaches it; and a handler about to wait for a message flushes first.
internal sealed partial class OutboundWriter
{
    /// <summary>Flushes now if a deferred flush is pending and nobody is writing (a receiver about to wait calls it).</summary>
    public void FlushPendingNow()
    {
        if (Volatile.Read(ref _flushScheduled) == 0 || !_frameLock.Wait(0, CancellationToken.None))
        {
            return;
        }

        Volatile.Write(ref _flushScheduled, 0);
        var flush = _output.FlushAsync();
        if (flush.IsCompletedSuccessfully)
        {
            ReleaseFrameLock();
            return;
        }

        _ = CompleteOwedFlushAsync(flush);
    }

    /// <summary>
    /// Called with the frame lock held after writing queued frames: schedules the coalesced flush (null) when the
    /// unflushed bytes are within a slice, or flushes now and returns that flush.
    /// </summary>
    private ValueTask<FlushResult>? ScheduleFlushOrFlushNow()
    {
        if (_output.CanGetUnflushedBytes && _output.UnflushedBytes <= FlushSliceSize)
        {
            if (Interlocked.Exchange(ref _flushScheduled, 1) == 0)
            {
                ThreadPool.UnsafeQueueUserWorkItem(this, preferLocal: true);
            }

            return null;
        }

        var flush = _output.FlushAsync();
        return flush;
    }

    /// <summary>Called with the frame lock held, after writing a small frame.</summary>
    private ValueTask FlushOrScheduleAsync(CancellationToken cancellationToken)
    {
        if (_output.CanGetUnflushedBytes && _output.UnflushedBytes <= FlushSliceSize)
        {
            if (Interlocked.Exchange(ref _flushScheduled, 1) == 0)
            {
                ThreadPool.UnsafeQueueUserWorkItem(this, preferLocal: true);
            }

            return ValueTask.CompletedTask;
        }

        return FlushAsync(frameComplete: true, cancellationToken);
    }

    // The work item's body: synchronous when the frame lock is free and the flush completes at once (the common
    // case), so a burst costs no allocation; otherwise it finishes asynchronously.
    private void RunScheduledFlush()
    {
        if (_lifecycle.IsAborted)
        {
            return;
        }

        if (!_frameLock.Wait(0, CancellationToken.None))
        {
            _ = RunScheduledFlushAfterLockAsync();
            return;
        }

        FlushScheduledLocked();
    }

    private async Task RunScheduledFlushAfterLockAsync()
    {
        await _frameLock.WaitAsync().ConfigureAwait(false);
        FlushScheduledLocked();
    }

    // Called with the frame lock held; releases it, now or when the flush completes. Holding the lock while a flush
    // is pending is the back-pressure: later sends wait for it.
    private void FlushScheduledLocked()
    {
        try
        {
            // Reset before flushing: a frame written after this point schedules its own flush.
            if (Interlocked.Exchange(ref _flushScheduled, 0) == 0 || _lifecycle.IsAborted)
            {
                ReleaseFrameLock();
                return;
            }

            var flush = _output.FlushAsync();
            if (!flush.IsCompletedSuccessfully)
            {
                _ = CompleteOwedFlushAsync(flush);
                return;
            }

            if (flush.Result.IsCompleted)
            {
                _owner.Abort(CloseReasons.TransportEnded);
            }
        }
        catch (Exception ex) when (TransportErrors.IsTransportException(ex))
        {
            RuntimeLog.TransportEnded(_logger, _connectionId, ex.Message);
            _owner.Abort(CloseReasons.TransportEnded);
        }

        ReleaseFrameLock();
    }

    // The writer is its own work item: one object fewer per connection than a separate one.
    void IThreadPoolWorkItem.Execute() => RunScheduledFlush();
}
