using System.Buffers;
using System.Runtime.CompilerServices;
using Shockwave.Diagnostics;
using Shockwave.Protocol;

namespace Shockwave.Runtime;

internal sealed partial class WibeSocketConnection
{
    // Payloads larger than this are written and flushed in slices, so a large send is back-pressured as it goes
    // instead of buffering the whole frame in the transport pipe first.
    private const int FlushSliceSize = 64 * 1024;

    // Data messages take _messageLock (held for a whole streamed message); every frame write takes _frameLock.
    // Control frames take only _frameLock, so they can go out between the frames of a streamed message (section 5.4).
    private readonly SemaphoreSlim _messageLock = new(1, 1);
    private readonly SemaphoreSlim _frameLock = new(1, 1);

    // Control frames owed to the peer, written by whoever holds _frameLock next (guarded by _gate).
    private byte[]? _owedPongPayload; // allocated on the first ping, so an idle connection does not carry it
    private int _owedPongLength = -1;
    private bool _owedPing;

    // Non-zero while a control frame is owed: lets the send path skip _gate when nothing is (the common case).
    private volatile int _owedControl;
    private WibeSocketMessageWriterImpl? _messageWriter;

    public override ValueTask SendAsync(ReadOnlyMemory<byte> payload, WebSocketMessageKind kind, CancellationToken cancellationToken = default) =>
        SendAsync(new ReadOnlySequence<byte>(payload), kind, cancellationToken);

    public override ValueTask SendAsync(ReadOnlySequence<byte> payload, WebSocketMessageKind kind, CancellationToken cancellationToken = default)
    {
        ThrowIfCannotSend();
        return TrySendSmallFrame(payload, kind, cancellationToken, out var sent) ? sent : SendSlowAsync(payload, kind, cancellationToken);
    }

    /// <summary>
    /// The common case without any async machinery: nobody else is sending, the message is one small uncompressed
    /// frame, and its flush is deferred to the burst's end. Returns false when the slow path must take over.
    /// </summary>
    private bool TrySendSmallFrame(in ReadOnlySequence<byte> payload, WebSocketMessageKind kind, CancellationToken cancellationToken, out ValueTask sent)
    {
        sent = default;
        if (payload.Length > FlushSliceSize || ShouldCompress(payload.Length) || !_messageLock.Wait(0, CancellationToken.None))
        {
            return false;
        }

        if (!_frameLock.Wait(0, CancellationToken.None))
        {
            _messageLock.Release();
            return false;
        }

        ValueTask flush;
        try
        {
            ThrowIfCannotSend();
            WebSocketFrameWriter.WriteFrame(_output, ToOpcode(kind), fin: true, rsv1: false, payload, maskKey: null);
            WriteOwedControlFrames();
            flush = FlushOrScheduleAsync(cancellationToken);
        }
        catch
        {
            ReleaseFrameLock();
            _messageLock.Release();
            throw;
        }

        if (flush.IsCompletedSuccessfully)
        {
            ReleaseFrameLock();
            _messageLock.Release();
            _metrics.MessageSent(kind);
            return true;
        }

        sent = CompleteSmallFrameAsync(flush, kind);
        return true;
    }

    // The inline flush (past the deferral budget) is pending: both locks stay held until it completes (back-pressure).
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder))]
    private async ValueTask CompleteSmallFrameAsync(ValueTask flush, WebSocketMessageKind kind)
    {
        try
        {
            await flush.ConfigureAwait(false);
            _metrics.MessageSent(kind);
        }
        finally
        {
            ReleaseFrameLock();
            _messageLock.Release();
        }
    }

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder))]
    private async ValueTask SendSlowAsync(ReadOnlySequence<byte> payload, WebSocketMessageKind kind, CancellationToken cancellationToken)
    {
        if (!_messageLock.Wait(0, CancellationToken.None))
        {
            await _messageLock.WaitAsync(cancellationToken).ConfigureAwait(false);
        }

        try
        {
            await WriteDataFrameAsync(payload, ToOpcode(kind), fin: true, compressible: true, cancellationToken).ConfigureAwait(false);
            _metrics.MessageSent(kind);
        }
        finally
        {
            _messageLock.Release();
        }
    }

    public override async ValueTask<WibeSocketMessageWriter> BeginMessageAsync(WebSocketMessageKind kind, CancellationToken cancellationToken = default)
    {
        ThrowIfCannotSend();
        await _messageLock.WaitAsync(cancellationToken).ConfigureAwait(false);
        var writer = _messageWriter ??= new WibeSocketMessageWriterImpl(this);
        writer.Start(kind);
        return writer;
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
                WebSocketFrameWriter.WriteFrame(_output, opcode, fin, rsv1, payload, maskKey: null);
                WriteOwedControlFrames();
                await FlushOrScheduleAsync(cancellationToken).ConfigureAwait(false);
                return;
            }

            await WriteLargeFrameAsync(payload, opcode, fin, rsv1, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            ReleaseCompressScratch();
            ReleaseFrameLock();
        }
    }

    private async ValueTask WriteLargeFrameAsync(ReadOnlySequence<byte> payload, WebSocketOpcode opcode, bool fin, bool rsv1, CancellationToken cancellationToken)
    {
        int headerLength = WebSocketFrameWriter.GetHeaderLength(payload.Length, masked: false);
        WebSocketFrameWriter.WriteHeader(_output.GetSpan(headerLength), opcode, fin, rsv1, payload.Length, maskKey: null);
        _output.Advance(headerLength);
        while (payload.Length > 0)
        {
            var slice = payload.Slice(0, Math.Min(payload.Length, FlushSliceSize));
            foreach (var memory in slice)
            {
                _output.Write(memory.Span);
            }

            payload = payload.Slice(slice.Length);
            await FlushAsync(frameComplete: payload.Length == 0, cancellationToken).ConfigureAwait(false);
        }
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
                AbortCore(CloseReasons.TransportEnded);
            }
        }
        catch (OperationCanceledException) when (!frameComplete)
        {
            // Part of a frame is on the wire and the rest never will be: the stream cannot be resynchronised.
            Log.SendCancelledMidFrame(_logger, ConnectionId);
            AbortCore(CloseReasons.Aborted);
            throw;
        }
    }

    /// <summary>Writes a close frame under the frame lock (waiting for it); pings and pongs are owed instead.</summary>
    private async ValueTask WriteControlFrameAsync(ControlFrameKind kind, WebSocketCloseStatus? status, string? reason)
    {
        try
        {
            await _frameLock.WaitAsync().ConfigureAwait(false);
            try
            {
                WriteOwedControlFrames();
                if (kind == ControlFrameKind.Close)
                {
                    WebSocketFrameWriter.WriteClose(_output, WebSocketRole.Server, status, reason);
                }

                await FlushAsync(frameComplete: true, CancellationToken.None).ConfigureAwait(false);
            }
            finally
            {
                ReleaseFrameLock();
            }
        }
        catch (Exception ex) when (ex is IOException or InvalidOperationException or ObjectDisposedException or OperationCanceledException)
        {
            Log.TransportEnded(_logger, ConnectionId, ex.Message);
            AbortCore(CloseReasons.TransportEnded);
        }
    }

    /// <summary>Records a pong owed for a ping (section 5.5.3: only the latest ping needs an answer) and tries to send it.</summary>
    private void OwePong(in ReadOnlySequence<byte> payload)
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

    private void CheckKeepAlive(long now)
    {
        if (_options.KeepAliveInterval <= TimeSpan.Zero)
        {
            return;
        }

        long lastReceived = Volatile.Read(ref _lastReceivedAt);
        lock (_gate)
        {
            if (_pingSentAt != 0 && lastReceived < _pingSentAt)
            {
                if (_time.GetElapsedTime(_pingSentAt, now) >= _options.KeepAliveTimeout)
                {
                    _pingSentAt = 0;
                    Log.KeepAliveTimeout(_logger, ConnectionId, _options.KeepAliveTimeout);
                    _ = Task.Run(() => AbortCore(CloseReasons.KeepAliveTimeout));
                }

                return;
            }

            if (_time.GetElapsedTime(lastReceived, now) < _options.KeepAliveInterval)
            {
                _pingSentAt = 0;
                return;
            }

            _pingSentAt = now;
            _owedPing = true;
            _owedControl = 1;
        }

        TrySendOwedControlFrames();
    }

    private long _pingSentAt;

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

    private async Task CompleteOwedFlushAsync(ValueTask<System.IO.Pipelines.FlushResult> flush)
    {
        try
        {
            await flush.ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is IOException or InvalidOperationException or ObjectDisposedException or OperationCanceledException)
        {
            Log.TransportEnded(_logger, ConnectionId, ex.Message);
            AbortCore(CloseReasons.TransportEnded);
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
            WebSocketFrameWriter.WriteFrame(_output, WebSocketOpcode.Pong, fin: true, rsv1: false, pong[..pongLength], maskKey: null);
        }

        if (ping)
        {
            WebSocketFrameWriter.WriteFrame(_output, WebSocketOpcode.Ping, fin: true, rsv1: false, ReadOnlySpan<byte>.Empty, maskKey: null);
        }
    }

    private void ReleaseFrameLock()
    {
        _frameLock.Release();

        // A control frame owed while the lock was held but after its holder wrote the owed ones would otherwise wait
        // for the next send.
        if (_owedControl != 0 && Volatile.Read(ref _aborted) == 0)
        {
            TrySendOwedControlFrames();
        }
    }

    private void ThrowIfCannotSend()
    {
        var state = State;
        if (state != WibeSocketState.Open)
        {
            throw new WibeSocketClosedException(state);
        }
    }

    private static WebSocketOpcode ToOpcode(WebSocketMessageKind kind) =>
        kind == WebSocketMessageKind.Text ? WebSocketOpcode.Text : WebSocketOpcode.Binary;

    private enum ControlFrameKind
    {
        Close,
    }

    /// <summary>The reusable writer for streamed messages; one at a time per connection, by the message lock.</summary>
    private sealed class WibeSocketMessageWriterImpl(WibeSocketConnection connection) : WibeSocketMessageWriter
    {
        private WebSocketOpcode _nextOpcode;
        private bool _active;

        public void Start(WebSocketMessageKind kind)
        {
            _nextOpcode = ToOpcode(kind);
            _active = true;
        }

        public override async ValueTask WriteAsync(ReadOnlyMemory<byte> part, CancellationToken cancellationToken = default)
        {
            ThrowIfInactive();
            await connection.WriteDataFrameAsync(new ReadOnlySequence<byte>(part), _nextOpcode, fin: false, compressible: false, cancellationToken).ConfigureAwait(false);
            _nextOpcode = WebSocketOpcode.Continuation;
        }

        public override async ValueTask CompleteAsync(ReadOnlyMemory<byte> lastPart = default, CancellationToken cancellationToken = default)
        {
            ThrowIfInactive();
            try
            {
                await connection.WriteDataFrameAsync(new ReadOnlySequence<byte>(lastPart), _nextOpcode, fin: true, compressible: false, cancellationToken).ConfigureAwait(false);
                connection._metrics.MessageSent(_nextOpcode == WebSocketOpcode.Text ? WebSocketMessageKind.Text : WebSocketMessageKind.Binary);
            }
            finally
            {
                _active = false;
                connection._messageLock.Release();
            }
        }

        public override async ValueTask DisposeAsync()
        {
            if (_active)
            {
                if (connection.State == WibeSocketState.Open)
                {
                    await CompleteAsync().ConfigureAwait(false);
                }
                else
                {
                    _active = false;
                    connection._messageLock.Release();
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
