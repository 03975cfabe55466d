using System.Buffers;
using System.IO.Pipelines;
using System.Runtime.CompilerServices;
using Microsoft.Extensions.Logging;
using Shockwave.Diagnostics;
using Shockwave.Protocol;
using Shockwave.Protocol.Compression;

namespace Shockwave.Runtime;

/// <summary>
/// Everything that leaves a connection: data frames (whole or streamed, deflated when negotiated), the control frames
/// owed to the peer (pong, keep-alive ping) and our close, in the role's framing (a client masks every frame with a
/// fresh key, RFC 6455 section 5.3). It keeps messages whole, lets control frames through between the frames of a
/// streamed message but never inside a frame (section 5.4), and coalesces flushes per burst.
/// </summary>
/// <remarks>
/// Two locks: data messages take the message lock (held for a whole streamed message), every frame write takes the
/// frame lock. Control frames take only the frame lock. A control frame owed while someone holds the frame lock is
/// written by that holder before its flush, or when it releases the lock.
/// </remarks>
[System.Diagnostics.CodeAnalysis.SuppressMessage("Design", "CA1001", Justification = "The semaphores own no handle (AvailableWaitHandle is never used) and may still be released by a deferred flush after the connection ended.")]
internal sealed partial class OutboundWriter : IThreadPoolWorkItem
{
    // Payloads larger than this are written and flushed in slices, so a large send is back-pressured as it goes
    // instead of buffering the whole frame in the transport pipe first. Also the flush coalescing budget.
    internal const int FlushSliceSize = 64 * 1024;

    private readonly PipeWriter _output;
    private readonly WebSocketRole _role;
    private readonly CloseHandshake _lifecycle;
    private readonly IAbortable _owner;
    private readonly ILogger _logger;
    private readonly string _connectionId;
    private readonly WibeSocketMetrics _metrics;
    private readonly PerMessageDeflateCompressor? _compressor;
    private readonly PerMessageDeflateOptions? _compressionOptions;

    private readonly SemaphoreSlim _messageLock = new(1, 1);
    private readonly SemaphoreSlim _frameLock = new(1, 1);
    private readonly Lock _gate;

    // Control frames owed to the peer, written by whoever holds _frameLock next (guarded by _gate).
    private byte[]? _owedPongPayload; // allocated on the first ping, so an idle connection does not carry it
    private int _owedPongLength = -1;
    private bool _owedPing;

    // Non-zero while a control frame is owed: lets the send path skip _gate when nothing is (the common case).
    private volatile int _owedControl;
    private int _flushScheduled;
    private PooledMessageBuffer? _compressScratch;

    // The send queue for frames shared with other connections (broadcasts), bounded by _maxQueuedBytes; guarded by
    // _gate. Allocated on the first broadcast, so a connection that never gets one carries none.
    private readonly long _maxQueuedBytes;
    private Queue<SharedFrame>? _queue;
    private long _queuedBytes;
    private bool _queueClosed;

    // True between the frames of a streamed message (message lock held): no whole message may go out then (section 5.4).
    private volatile bool _streaming;
    private StreamedMessageWriter? _messageWriter;

    public OutboundWriter(
        PipeWriter output,
        WebSocketRole role,
        CloseHandshake lifecycle,
        IAbortable owner,
        Lock gate,
        ILogger logger,
        string connectionId,
        WibeSocketMetrics metrics,
        PerMessageDeflateCompressor? compressor,
        PerMessageDeflateOptions? compressionOptions,
        long maxQueuedBytes = long.MaxValue)
    {
        _maxQueuedBytes = maxQueuedBytes;
        _output = output;
        _role = role;
        _lifecycle = lifecycle;
        _owner = owner;
        _gate = gate;
        _logger = logger;
        _connectionId = connectionId;
        _metrics = metrics;
        _compressor = compressor;
        _compressionOptions = compressionOptions;
    }

    public ValueTask SendAsync(ReadOnlySequence<byte> payload, WibeSocketMessageType type, CancellationToken cancellationToken)
    {
        var opcode = ToDataOpcode(type);
        ThrowIfCannotSend();
        return TrySendSmallFrame(payload, opcode, type, cancellationToken, out var sent) ? sent : SendSlowAsync(payload, opcode, type, cancellationToken);
    }

    public async ValueTask<WibeSocketMessageWriter> BeginMessageAsync(WibeSocketMessageType type, CancellationToken cancellationToken)
    {
        var opcode = ToDataOpcode(type);
        ThrowIfCannotSend();
        await _messageLock.WaitAsync(cancellationToken).ConfigureAwait(false);
        var writer = _messageWriter ??= new StreamedMessageWriter(this);
        _streaming = true;
        writer.Start(opcode);
        return writer;
    }

    /// <summary>
    /// Writes our close frame under the frame lock (waiting for it, behind any frame in progress), with any owed
    /// control frames first, and flushes. Never throws: a transport that is gone aborts the connection.
    /// </summary>
    public async ValueTask WriteCloseAsync(WebSocketCloseStatus? status, string? reason)
    {
        try
        {
            await _frameLock.WaitAsync().ConfigureAwait(false);
            try
            {
                WriteOwedControlFrames();

                // Frames queued while the connection was open were accepted for delivery: they go before the close,
                // unless a streamed message is between fragments, where no whole message may go (section 5.4).
                if (_streaming)
                {
                    DiscardQueued();
                }
                else
                {
                    WriteQueuedFrames(untilBackPressure: false);
                }

                WebSocketFrameWriter.WriteClose(_output, _role, status, reason);
                await FlushAsync(frameComplete: true, CancellationToken.None).ConfigureAwait(false);
            }
            finally
            {
                ReleaseFrameLock();
            }
        }
        catch (Exception ex) when (TransportErrors.IsTransportException(ex))
        {
            RuntimeLog.TransportEnded(_logger, _connectionId, ex.Message);
            _owner.Abort(CloseReasons.TransportEnded);
        }
    }

    /// <summary>Records a pong owed for a ping (section 5.5.3: only the latest ping needs an answer) and tries to send it.</summary>
    public void OwePong(in ReadOnlySequence<byte> payload)
    {
        lock (_gate)
        {
            _owedPongPayload ??= new byte[125];
            payload.CopyTo(_owedPongPayload);
            _owedPongLength = (int)payload.Length;
            _owedControl = 1;
        }

        TrySendOwedControlFrames();
    }

    /// <summary>Owes a keep-alive ping (empty payload) and tries to send it.</summary>
    public void OwePing()
    {
        lock (_gate)
        {
            _owedPing = true;
            _owedControl = 1;
        }

        TrySendOwedControlFrames();
    }

    /// <summary>
    /// At the connection's end: waits (bounded) for a frame still on its way out, such as a close reply, flushes it,
    /// releases the deflater, and completes the output when the runtime owns it. Sends arriving later see the final
    /// state and are refused.
    /// </summary>
    public async ValueTask FinishAsync(TimeSpan bound, bool completeOutput)
    {
        bool locked = !_lifecycle.IsAborted && await _frameLock.WaitAsync(bound).ConfigureAwait(false);
        try
        {
            if (locked)
            {
                await _output.FlushAsync().ConfigureAwait(false);
            }
        }
        catch (Exception ex) when (TransportErrors.IsTransportException(ex))
        {
            RuntimeLog.TransportEnded(_logger, _connectionId, ex.Message);
        }
        finally
        {
            CloseQueue();
            _compressor?.Dispose();
            _compressScratch?.Dispose();
            if (completeOutput)
            {
                await _output.CompleteAsync().ConfigureAwait(false);
            }

            if (locked)
            {
                _frameLock.Release();
            }
        }

        // The two SemaphoreSlims are left to the GC: they own no handle (AvailableWaitHandle is never used), and a
        // deferred flush or owed control frame may still release one after the connection ended.
    }

    /// <summary>
    /// The common case without any async machinery: nobody else is sending, the message is one small uncompressed
    /// frame, and its flush is deferred to the burst's end. Returns false when the slow path must take over.
    /// </summary>
    private bool TrySendSmallFrame(in ReadOnlySequence<byte> payload, WebSocketOpcode opcode, WibeSocketMessageType type, CancellationToken cancellationToken, out ValueTask sent)
    {
        sent = default;
        if (payload.Length > FlushSliceSize || ShouldCompress(payload.Length) || !_messageLock.Wait(0, CancellationToken.None))
        {
            return false;
        }

        if (!_frameLock.Wait(0, CancellationToken.None))
        {
            ReleaseMessageLock();
            return false;
        }

        ValueTask flush;
        try
        {
            ThrowIfCannotSend();
            WebSocketFrameWriter.WriteFrame(_output, opcode, fin: true, rsv1: false, payload, MaskKey());
            WriteOwedControlFrames();
            flush = FlushOrScheduleAsync(cancellationToken);
        }
        catch
        {
            ReleaseFrameLock();
            ReleaseMessageLock();
            throw;
        }

        if (flush.IsCompletedSuccessfully)
        {
            ReleaseFrameLock();
            ReleaseMessageLock();
            _metrics.MessageSent(type, payload.Length);
            return true;
        }

        sent = CompleteSmallFrameAsync(flush, type, payload.Length);
        return true;
    }

    // The inline flush (past the deferral budget) is pending: both locks stay held until it completes (back-pressure).
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder))]
    private async ValueTask CompleteSmallFrameAsync(ValueTask flush, WibeSocketMessageType type, long bytes)
    {
        try
        {
            await flush.ConfigureAwait(false);
            _metrics.MessageSent(type, bytes);
        }
        finally
        {
            ReleaseFrameLock();
            ReleaseMessageLock();
        }
    }

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder))]
    private async ValueTask SendSlowAsync(ReadOnlySequence<byte> payload, WebSocketOpcode opcode, WibeSocketMessageType type, CancellationToken cancellationToken)
    {
        if (!_messageLock.Wait(0, CancellationToken.None))
        {
            await _messageLock.WaitAsync(cancellationToken).ConfigureAwait(false);
        }

        try
        {
            await WriteDataFrameAsync(payload, opcode, fin: true, compressible: true, cancellationToken).ConfigureAwait(false);
            _metrics.MessageSent(type, payload.Length);
        }
        finally
        {
            ReleaseMessageLock();
        }
    }

    /// <summary>
    /// Writes one data frame under the frame lock, then any control frames owed, then flushes once. A compressed
    /// message is deflated first (whole messages only; a streamed message goes out uncompressed).
    /// </summary>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder))]
    private async ValueTask WriteDataFrameAsync(ReadOnlySequence<byte> payload, WebSocketOpcode opcode, bool fin, bool compressible, CancellationToken cancellationToken)
    {
        if (!_frameLock.Wait(0, CancellationToken.None))
        {
            await _frameLock.WaitAsync(cancellationToken).ConfigureAwait(false);
        }

        try
        {
            ThrowIfCannotSend();
            bool rsv1 = false;
            if (compressible && ShouldCompress(payload.Length))
            {
                payload = Compress(payload);
                rsv1 = true;
            }

            if (payload.Length <= FlushSliceSize)
            {
                WebSocketFrameWriter.WriteFrame(_output, opcode, fin, rsv1, payload, MaskKey());
                WriteOwedControlFrames();
                await FlushOrScheduleAsync(cancellationToken).ConfigureAwait(false);
                return;
            }

            await WriteLargeFrameAsync(payload, opcode, fin, rsv1, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            // The scratch buffer goes back to the pool after each message, so an idle connection holds none.
            _compressScratch?.Dispose();
            ReleaseFrameLock();
        }
    }

    private async ValueTask WriteLargeFrameAsync(ReadOnlySequence<byte> payload, WebSocketOpcode opcode, bool fin, bool rsv1, CancellationToken cancellationToken)
    {
        uint? mask = MaskKey();
        int headerLength = WebSocketFrameWriter.GetHeaderLength(payload.Length, mask.HasValue);
        WebSocketFrameWriter.WriteHeader(_output.GetSpan(headerLength), opcode, fin, rsv1, payload.Length, mask);
        _output.Advance(headerLength);
        int maskOffset = 0;
        while (payload.Length > 0)
        {
            var slice = payload.Slice(0, Math.Min(payload.Length, FlushSliceSize));
            foreach (var memory in slice)
            {
                maskOffset = WritePayload(memory.Span, mask, maskOffset);
            }

            payload = payload.Slice(slice.Length);
            await FlushAsync(frameComplete: payload.Length == 0, cancellationToken).ConfigureAwait(false);
        }
    }

    // Carries the mask offset across slices (section 5.3: the key applies to the payload as one run of bytes).
    private int WritePayload(ReadOnlySpan<byte> source, uint? mask, int maskOffset)
    {
        if (mask is not { } key)
        {
            _output.Write(source);
            return maskOffset;
        }

        while (!source.IsEmpty)
        {
            var span = _output.GetSpan();
            int chunk = Math.Min(span.Length, source.Length);
            maskOffset = WebSocketMask.Apply(source[..chunk], span[..chunk], key, maskOffset);
            _output.Advance(chunk);
            source = source[chunk..];
        }

        return maskOffset;
    }

    private async ValueTask FlushAsync(bool frameComplete, CancellationToken cancellationToken)
    {
        try
        {
            var flush = _output.FlushAsync(cancellationToken);
            var result = flush.IsCompletedSuccessfully ? flush.Result : await flush.ConfigureAwait(false);
            if (result.IsCompleted)
            {
                // The transport is gone; the read loop reports the end to the handler.
                _owner.Abort(CloseReasons.TransportEnded);
            }
        }
        catch (OperationCanceledException) when (!frameComplete)
        {
            // Part of a frame is on the wire and the rest never will be: the stream cannot be resynchronised.
            RuntimeLog.SendCancelledMidFrame(_logger, _connectionId);
            _owner.Abort(CloseReasons.Aborted);
            throw;
        }
    }

    /// <summary>Sends owed control frames now if nobody is writing; otherwise the writer sends them before its flush.</summary>
    private void TrySendOwedControlFrames()
    {
        if (!_frameLock.Wait(0, CancellationToken.None))
        {
            return;
        }

        WriteOwedControlFrames();
        var flush = _output.FlushAsync();
        if (flush.IsCompletedSuccessfully)
        {
            ReleaseFrameLock();
            return;
        }

        _ = CompleteOwedFlushAsync(flush);
    }

    // Releases the frame lock once a pending flush completes (holding it meanwhile is the back-pressure); a transport
    // that failed ends the connection. One whose reader completed is left to the read loop, which reports how the
    // connection ended (a close the peer sent before going away must not be turned into an abort here).
    private async Task CompleteOwedFlushAsync(ValueTask<FlushResult> flush)
    {
        try
        {
            await flush.ConfigureAwait(false);
        }
        catch (Exception ex) when (TransportErrors.IsTransportException(ex))
        {
            RuntimeLog.TransportEnded(_logger, _connectionId, ex.Message);
            _owner.Abort(CloseReasons.TransportEnded);
        }
        finally
        {
            ReleaseFrameLock();
        }
    }

    // Called with _frameLock held.
    private void WriteOwedControlFrames()
    {
        if (_owedControl == 0)
        {
            return;
        }

        Span<byte> pong = stackalloc byte[125];
        int pongLength;
        bool ping;
        lock (_gate)
        {
            pongLength = _owedPongLength;
            ping = _owedPing;
            if (pongLength < 0 && !ping)
            {
                return;
            }

            if (pongLength >= 0)
            {
                _owedPongPayload.AsSpan(0, pongLength).CopyTo(pong);
            }

            _owedPongLength = -1;
            _owedPing = false;
            _owedControl = 0;
        }

        if (pongLength >= 0)
        {
            WebSocketFrameWriter.WriteFrame(_output, WebSocketOpcode.Pong, fin: true, rsv1: false, pong[..pongLength], MaskKey());
        }

        if (ping)
        {
            WebSocketFrameWriter.WriteFrame(_output, WebSocketOpcode.Ping, fin: true, rsv1: false, ReadOnlySpan<byte>.Empty, MaskKey());
        }
    }

    private void ReleaseFrameLock()
    {
        _frameLock.Release();

        // A control frame owed while the lock was held but after its holder wrote the owed ones would otherwise wait
        // for the next send; so would frames queued meanwhile.
        if (_lifecycle.IsAborted)
        {
            return;
        }

        if (_owedControl != 0)
        {
            TrySendOwedControlFrames();
        }

        if (Volatile.Read(ref _queuedBytes) != 0)
        {
            TryDrainQueue();
        }
    }

    private void ReleaseMessageLock()
    {
        _messageLock.Release();
        if (Volatile.Read(ref _queuedBytes) != 0 && !_lifecycle.IsAborted)
        {
            TryDrainQueue();
        }
    }

    private void ThrowIfCannotSend()
    {
        var state = _lifecycle.State;
        if (state != WibeSocketState.Open)
        {
            throw new WibeSocketClosedException(state);
        }
    }

    // Section 5.3: a client masks every frame with a fresh, unpredictable key; a server never masks.
    private uint? MaskKey() => _role == WebSocketRole.Client ? WebSocketFrameWriter.NewMaskKey() : null;

    private bool ShouldCompress(long length) =>
        _compressor is not null && (_compressionOptions?.ShouldCompress(length) ?? true);

    // Called with the frame lock held; the result is valid until the scratch buffer is released.
    private ReadOnlySequence<byte> Compress(ReadOnlySequence<byte> payload)
    {
        var scratch = _compressScratch ??= new PooledMessageBuffer(long.MaxValue);
        if (payload.IsSingleSegment)
        {
            _compressor!.Compress(payload.FirstSpan, scratch);
        }
        else
        {
            var remaining = payload;
            while (!remaining.IsEmpty)
            {
                var first = remaining.First.Span;
                remaining = remaining.Slice(first.Length);
                _compressor!.CompressPart(first, endOfMessage: remaining.IsEmpty, scratch);
            }
        }

        return scratch.GetPayload();
    }

    private static WebSocketOpcode ToDataOpcode(WibeSocketMessageType type) => type switch
    {
        WibeSocketMessageType.Text => WebSocketOpcode.Text,
        WibeSocketMessageType.Binary => WebSocketOpcode.Binary,
        _ => throw new ArgumentOutOfRangeException(nameof(type), type, "Only text and binary messages can be sent; close with CloseAsync."),
    };

    /// <summary>The reusable writer for streamed messages; one at a time per connection, by the message lock.</summary>
    private sealed class StreamedMessageWriter(OutboundWriter outbound) : WibeSocketMessageWriter
    {
        private WebSocketOpcode _nextOpcode;
        private WibeSocketMessageType _type;
        private long _bytes;
        private bool _active;

        public void Start(WebSocketOpcode opcode)
        {
            _nextOpcode = opcode;
            _type = opcode == WebSocketOpcode.Text ? WibeSocketMessageType.Text : WibeSocketMessageType.Binary;
            _bytes = 0;
            _active = true;
        }

        public override async ValueTask WriteAsync(ReadOnlyMemory<byte> part, CancellationToken cancellationToken = default)
        {
            ThrowIfInactive();
            await outbound.WriteDataFrameAsync(new ReadOnlySequence<byte>(part), _nextOpcode, fin: false, compressible: false, cancellationToken).ConfigureAwait(false);
            _nextOpcode = WebSocketOpcode.Continuation;
            _bytes += part.Length;
        }

        public override async ValueTask CompleteAsync(ReadOnlyMemory<byte> lastPart = default, CancellationToken cancellationToken = default)
        {
            ThrowIfInactive();
            try
            {
                await outbound.WriteDataFrameAsync(new ReadOnlySequence<byte>(lastPart), _nextOpcode, fin: true, compressible: false, cancellationToken).ConfigureAwait(false);
                outbound._metrics.MessageSent(_type, _bytes + lastPart.Length);
            }
            finally
            {
                _active = false;
                outbound._streaming = false;
                outbound.ReleaseMessageLock();
            }
        }

        public override async ValueTask DisposeAsync()
        {
            if (_active)
            {
                if (outbound._lifecycle.State == WibeSocketState.Open)
                {
                    await CompleteAsync().ConfigureAwait(false);
                }
                else
                {
                    _active = false;
                    outbound._streaming = false;
                    outbound.ReleaseMessageLock();
                }
            }
        }

        private void ThrowIfInactive()
        {
            if (!_active)
            {
                throw new InvalidOperationException("The message was already completed; call BeginMessageAsync for another.");
            }
        }
    }
}
