using System.Buffers;
using System.IO.Pipelines;
using Shockwave.Diagnostics;

namespace Shockwave.Runtime;

// The send queue for broadcasts: frames built once and shared by many connections (SharedFrame) wait here, bounded by
// the connection's byte budget, and never make the broadcaster wait: a slow consumer fills its own queue, and past the
// budget the caller applies the slow-consumer policy (drop or close). The queue is drained into the transport whenever
// both send locks are free (now, or by whoever releases them next), frames of a burst leave in one coalesced flush, and
// draining stops at the transport's back-pressure so a stalled peer holds at most its budget here plus one flush slice
// in the pipe. Owed control frames go before queued data (they never wait behind it).
internal sealed partial class OutboundWriter
{
    /// <summary>The bytes queued and not yet in the transport.</summary>
    public long QueuedBytes => Volatile.Read(ref _queuedBytes);

    /// <summary>
    /// Offers a shared frame to this connection without waiting: queued (taking a reference), refused over the budget,
    /// or refused because the connection is closing. A frame is accepted whatever its size when nothing is queued, so a
    /// message larger than the budget still reaches a peer that keeps up.
    /// </summary>
    public QueueResult TryQueue(SharedFrame frame)
    {
        if (_lifecycle.State != WibeSocketState.Open)
        {
            return QueueResult.Closed;
        }

        lock (_gate)
        {
            if (_queueClosed)
            {
                return QueueResult.Closed;
            }

            if (_queuedBytes > 0 && _queuedBytes + frame.Length > _maxQueuedBytes)
            {
                return QueueResult.OverBudget;
            }

            frame.AddReference();
            (_queue ??= new Queue<SharedFrame>()).Enqueue(frame);
            Volatile.Write(ref _queuedBytes, _queuedBytes + frame.Length);
        }

        _metrics.SendQueueChanged(frame.Length);
        TryDrainQueue();
        return QueueResult.Queued;
    }

    /// <summary>Drops everything queued (the slow-consumer policy closed the connection, or a streamed message is open).</summary>
    public void DiscardQueued()
    {
        long discarded = 0;
        lock (_gate)
        {
            while (_queue is not null && _queue.TryDequeue(out var frame))
            {
                discarded += frame.Length;
                frame.Release();
            }

            Volatile.Write(ref _queuedBytes, 0);
        }

        if (discarded != 0)
        {
            _metrics.SendQueueChanged(-discarded);
        }
    }

    private void CloseQueue()
    {
        lock (_gate)
        {
            _queueClosed = true;
        }

        DiscardQueued();
    }

    /// <summary>Writes the queue out if nobody is sending; otherwise whoever releases the locks does (ReleaseFrameLock).</summary>
    private void TryDrainQueue()
    {
        if (!_messageLock.Wait(0, CancellationToken.None))
        {
            return;
        }

        if (!_frameLock.Wait(0, CancellationToken.None))
        {
            _messageLock.Release();
            return;
        }

        ValueTask<FlushResult>? flush = null;
        try
        {
            if (_lifecycle.State != WibeSocketState.Open)
            {
                // Our close is out or on its way: data may no longer follow (section 5.5.1); the close wrote what it could.
                DiscardQueued();
            }
            else
            {
                WriteOwedControlFrames();
                flush = WriteQueuedFrames(untilBackPressure: true) ?? ScheduleFlushOrFlushNow();
            }
        }
        catch (Exception ex) when (TransportErrors.IsTransportException(ex))
        {
            RuntimeLog.TransportEnded(_logger, _connectionId, ex.Message);
            _owner.Abort(CloseReasons.TransportEnded);
            flush = null;
        }

        // The message lock goes at once: the frame lock alone keeps order, and a direct send may queue behind it.
        _messageLock.Release();
        if (flush is { IsCompletedSuccessfully: false } pending)
        {
            // The frame lock stays held until the transport took the bytes: that is the back-pressure.
            _ = CompleteOwedFlushAsync(pending);
            return;
        }

        if (flush is { } done && done.Result.IsCompleted)
        {
            _owner.Abort(CloseReasons.TransportEnded);
        }

        ReleaseFrameLock();
    }

    /// <summary>
    /// Copies queued frames into the transport (frame lock held). With <paramref name="untilBackPressure"/>, flushes
    /// every slice and stops at the first flush that does not complete at once, returning it; the rest stays queued.
    /// </summary>
    private ValueTask<FlushResult>? WriteQueuedFrames(bool untilBackPressure)
    {
        while (true)
        {
            SharedFrame? frame;
            lock (_gate)
            {
                if (_queue is null || !_queue.TryDequeue(out frame))
                {
                    return null;
                }

                Volatile.Write(ref _queuedBytes, _queuedBytes - frame.Length);
            }

            try
            {
                _output.Write(frame.Bytes);
            }
            finally
            {
                frame.Release();
                _metrics.SendQueueChanged(-frame.Length);
            }

            if (untilBackPressure && _output.CanGetUnflushedBytes && _output.UnflushedBytes > FlushSliceSize)
            {
                var flush = _output.FlushAsync();
                if (!flush.IsCompletedSuccessfully)
                {
                    return flush;
                }

                if (flush.Result.IsCompleted)
                {
                    _owner.Abort(CloseReasons.TransportEnded);
                    return null;
                }
            }
        }
    }
}
