using System.Buffers;
using System.Runtime.CompilerServices;
using Shockwave.Diagnostics;
using Shockwave.Protocol;

namespace Shockwave.Runtime;

internal sealed partial class WibeSocketConnection
{
    private readonly WebSocketFrameReader _frameReader;
    private readonly ReceiveLease _lease = new();
    // Continuations run asynchronously: a handler busy with CPU work must never hold up the read loop (pings and closes).
    private readonly AsyncSignal _messageAvailable = new();
    private readonly AsyncSignal _readAheadDrained = new();
    private readonly Queue<PendingMessage> _pending = new();

    // Written by the read loop, read by the heartbeat.
    private long _lastReceivedAt;

    // Read-loop state. Offsets are absolute byte counts since the connection opened, so they survive AdvanceTo.
    private long _consumedAbs;
    private long _parsedAbs;
    private MessageAssembly? _assembly;

    // Hand-off state, guarded by _gate.
    private PendingMessage _current;
    private bool _receiveCompleted;
    private long _ownedPendingBytes;
    private bool _loopWaitsForDrain;
    private bool _loopHoldsInPlaceBytes;
    private int _wakeRequested;
    private bool _failedByPeer;
    private bool _messagesEnqueued;
    private ProtocolError? _deferredFailure;
    private TaskCompletionSource? _deferredFailureSent; // only when a failure's close waits for the handler

    // How long a failure's close frame may wait for the handler to take the messages that arrived before it.
    private static readonly TimeSpan DeferredFailureBound = TimeSpan.FromSeconds(1);
    private Task _closeReply = Task.CompletedTask;

    // How long a failed connection waits for the peer to close after our close frame (RFC 6455 section 7.1.7).
    private static readonly TimeSpan FailureLinger = TimeSpan.FromMilliseconds(500);

    public override ValueTask<WibeSocketMessage> ReceiveAsync(CancellationToken cancellationToken = default)
    {
        WibeSocketMessage message;
        lock (_gate)
        {
            ReleaseCurrentLocked();
            if (!TryDequeueLocked(out message))
            {
                return ReceiveSlowAsync(cancellationToken);
            }
        }

        if (message.IsClose)
        {
            SendDeferredFailure();
        }

        return ValueTask.FromResult(message);
    }

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    private async ValueTask<WibeSocketMessage> ReceiveSlowAsync(CancellationToken cancellationToken)
    {
        // About to wait: what this handler sent in its burst leaves now rather than after a thread hop.
        FlushPendingNow();

        // The connection's own ConnectionClosed token needs no registration: the read loop signals the close itself,
        // and an idle handler waiting with it (the common case) then keeps no registration alive.
        using var registration = cancellationToken.CanBeCanceled && cancellationToken != _closedCts.Token
            ? cancellationToken.UnsafeRegister(static s => ((AsyncSignal)s!).Set(), _messageAvailable)
            : default;

        while (true)
        {
            bool dequeued;
            WibeSocketMessage message;
            lock (_gate)
            {
                dequeued = TryDequeueLocked(out message);

                // The connection went idle with the last message released: let the loop give its buffer back.
                if (!dequeued && _loopHoldsInPlaceBytes)
                {
                    WakeReadLoopLocked();
                }
            }

            if (dequeued)
            {
                if (message.IsClose)
                {
                    SendDeferredFailure();
                }

                return message;
            }

            cancellationToken.ThrowIfCancellationRequested();

            // Loop back to the queue before honouring cancellation: the close message must win over ConnectionClosed,
            // which the runtime cancels right after signalling the close (a handler passing that token would otherwise
            // get OperationCanceledException instead of the close it is documented to receive).
            await _messageAvailable.WaitAsync().ConfigureAwait(false);
        }
    }

    private bool TryDequeueLocked(out WibeSocketMessage message)
    {
        if (_pending.TryDequeue(out var next))
        {
            _current = next;
            if (next.Owned is not null)
            {
                _ownedPendingBytes -= next.Payload.Length;
            }

            message = new WibeSocketMessage(next.Type, next.Payload, _lease, _lease.Generation);
            _metrics.MessageReceived(next.Type == WibeSocketMessageType.Text ? WebSocketMessageKind.Text : WebSocketMessageKind.Binary);
            return true;
        }

        if (_receiveCompleted)
        {
            message = new WibeSocketMessage(WibeSocketMessageType.Close, ReadOnlySequence<byte>.Empty, null, 0);
            return true;
        }

        message = default;
        return false;
    }

    private void ReleaseCurrentLocked()
    {
        if (_current.Type == 0)
        {
            return;
        }

        _lease.Advance();
        _current.Owned?.Dispose();
        _current = default;
        if (_loopWaitsForDrain)
        {
            _loopWaitsForDrain = false;
            _readAheadDrained.Set();
        }
    }

    private void WakeReadLoopLocked()
    {
        _loopHoldsInPlaceBytes = false;
        Volatile.Write(ref _wakeRequested, 1);
        _input.CancelPendingRead();
    }

    private void SignalClosedToReceiver()
    {
        lock (_gate)
        {
            _receiveCompleted = true;
        }

        _messageAvailable.Set();
        _readAheadDrained.Set();
    }

    private async Task ReceiveLoopAsync()
    {
        try
        {
            while (Volatile.Read(ref _aborted) == 0)
            {
                var result = await _input.ReadAsync().ConfigureAwait(false);
                var buffer = result.Buffer;
                if (result.IsCanceled && Interlocked.Exchange(ref _wakeRequested, 0) == 0 && _setup.CancelledReadMeansShutdown)
                {
                    // Not our own wake-up: Kestrel cancels the transport read when the server stops (platform notes 1.3).
                    OnServerStopping();
                }

                if (buffer.Length > _parsedAbs - _consumedAbs)
                {
                    Volatile.Write(ref _lastReceivedAt, _time.GetTimestamp());
                }

                bool keepReading = ProcessBuffer(buffer);
                long heldBytes = AdvanceInput(buffer);
                if (!keepReading || Volatile.Read(ref _aborted) != 0)
                {
                    break;
                }

                if (result.IsCompleted)
                {
                    Log.TransportEnded(_logger, ConnectionId, "the peer closed the connection without a close frame");
                    AbortCore(CloseReasons.TransportEnded);
                    break;
                }

                await WaitForReadAheadAsync(heldBytes).ConfigureAwait(false);
            }
        }
        catch (Exception ex) when (IsTransportException(ex))
        {
            Log.TransportEnded(_logger, ConnectionId, ex.Message);
            AbortCore(CloseReasons.TransportEnded);
        }
        finally
        {
            SignalClosedToReceiver();
        }

        if (_failedByPeer)
        {
            await DrainAfterFailureAsync().ConfigureAwait(false);
        }

        // The run awaits this loop before ending the transport: the answer to the peer's close must be flushed first,
        // or a handler that returns at once (the echo sample) ends the request and Kestrel closes TCP without it
        // (R6455-5.5.1-d). WriteControlFrameAsync never throws.
        await _closeReply.ConfigureAwait(false);
    }

    private static bool IsTransportException(Exception ex) =>
        ex is IOException or OperationCanceledException or InvalidOperationException or ObjectDisposedException
            or Microsoft.AspNetCore.Connections.ConnectionResetException or Microsoft.AspNetCore.Connections.ConnectionAbortedException;

    /// <summary>
    /// After failing the connection, reads and discards what the peer still sends (its close frame, typically) until it
    /// closes TCP or a short linger passes, then ends the connection. Closing with unread input would make the kernel
    /// send a reset, which can destroy the close frame before the peer reads it; waiting the full close timeout would
    /// hold the connection open for nothing, since the rest of the input can no longer be parsed.
    /// </summary>
    private async Task DrainAfterFailureAsync()
    {
        try
        {
            if (_deferredFailureSent is { } deferred)
            {
                await deferred.Task.WaitAsync(DeferredFailureBound, _time).ConfigureAwait(false);
            }
        }
        catch (TimeoutException)
        {
            // The handler did not take the earlier messages in time (a send-only handler never asks): close now.
            SendDeferredFailure();
        }

        var linger = _options.CloseTimeout < FailureLinger ? _options.CloseTimeout : FailureLinger;
        using var deadline = new CancellationTokenSource(linger, _time);
        bool flooded = false;
        try
        {
            while (Volatile.Read(ref _aborted) == 0)
            {
                var result = await _input.ReadAsync(deadline.Token).ConfigureAwait(false);
                var buffer = result.Buffer;

                // The message the handler still holds may be borrowed from this buffer: consume only past it, and give
                // up at once if the peer floods the connection meanwhile.
                long held = HeldInPlaceStart();
                if (held >= _consumedAbs)
                {
                    if (_consumedAbs + buffer.Length - held > _options.MaxReadAheadBytes)
                    {
                        flooded = true;
                        break;
                    }

                    _input.AdvanceTo(buffer.GetPosition(held - _consumedAbs), buffer.End);
                    _consumedAbs = held;
                }
                else
                {
                    _input.AdvanceTo(buffer.End);
                    _consumedAbs += buffer.Length;
                }

                if (result.IsCompleted || result.IsCanceled)
                {
                    break;
                }
            }
        }
        catch (Exception ex) when (IsTransportException(ex))
        {
            // The linger ran out or the transport went away: either way the connection ends now.
        }

        if (flooded)
        {
            AbortCore(_closeReason);
            return;
        }

        // End gracefully: the handler returns and the server closes TCP with a FIN, not a reset (section 7.1.1).
        _peerCloseReceived.TrySetResult();
        MarkClosed();
    }

    /// <summary>Parses everything new in the buffer. Returns false when the loop must stop reading.</summary>
    private bool ProcessBuffer(ReadOnlySequence<byte> buffer)
    {
        try
        {
            return ParseBuffer(buffer);
        }
        finally
        {
            if (_messagesEnqueued)
            {
                _messagesEnqueued = false;
                _messageAvailable.Set();
            }
        }
    }

    private bool ParseBuffer(ReadOnlySequence<byte> buffer)
    {
        var unparsed = buffer.Slice(_parsedAbs - _consumedAbs);
        while (true)
        {
            long before = unparsed.Length;
            var status = _frameReader.Read(ref unparsed, out var segment, out var error);
            _parsedAbs += before - unparsed.Length;
            switch (status)
            {
                case FrameReadStatus.NeedMoreData:
                    return true;
                case FrameReadStatus.MessagePayload:
                    if (!OnMessagePayload(segment, _parsedAbs - segment.Payload.Length))
                    {
                        return false;
                    }

                    break;
                case FrameReadStatus.ControlFrame:
                    if (!OnControlFrame(segment))
                    {
                        return false;
                    }

                    break;
                default:
                    FailConnection(error);
                    return false;
            }
        }
    }

    private bool OnMessagePayload(in FrameSegment segment, long payloadStartAbs)
    {
        // Section 7.1.1 lets data arriving after our close be discarded.
        if (State != WibeSocketState.Open)
        {
            return true;
        }

        if (segment.IsCompressed)
        {
            return InflateSegment(segment);
        }

        if (segment.IsWholeMessage && _assembly is null)
        {
            // An empty message borrows nothing: its zero-length slice would still point at a pipe segment that is
            // recycled once the frame is consumed, and reading it then throws.
            Enqueue(segment.Payload.IsEmpty
                ? new PendingMessage(ToMessageType(segment.Opcode), ReadOnlySequence<byte>.Empty, null, -1)
                : new PendingMessage(ToMessageType(segment.Opcode), segment.Payload, null, payloadStartAbs));
            return true;
        }

        // A message that did not arrive whole is copied out, so the pipe can be consumed as it streams in.
        _assembly ??= new MessageAssembly(_options.MaxMessageSize);
        _assembly.Append(segment.Payload);
        if (segment.IsMessageEnd)
        {
            var owned = _assembly;
            _assembly = null;
            Enqueue(new PendingMessage(ToMessageType(segment.Opcode), owned.GetPayload(), owned, -1));
        }

        return true;
    }

    // The handler is signalled once per parsed buffer (ProcessBuffer), not per message.
    private void Enqueue(in PendingMessage message)
    {
        lock (_gate)
        {
            _pending.Enqueue(message);
            if (message.Owned is not null)
            {
                _ownedPendingBytes += message.Payload.Length;
            }
        }

        _messagesEnqueued = true;
    }

    private bool OnControlFrame(in FrameSegment segment)
    {
        switch (segment.Opcode)
        {
            case WebSocketOpcode.Ping:
                // Section 5.5.2: answer with a pong carrying the same payload, as soon as practical.
                OwePong(segment.Payload);
                return true;
            case WebSocketOpcode.Pong:
                return true;
            default:
                OnPeerClose(segment.Payload);
                return false;
        }
    }

    private void OnPeerClose(in ReadOnlySequence<byte> payload)
    {
        var (status, reason) = ClosePayload.Parse(payload);
        bool reply;
        lock (_gate)
        {
            reply = _state == WibeSocketState.Open;
            if (reply)
            {
                _state = WibeSocketState.CloseReceived;
                _closeReceivedAt = _time.GetTimestamp();
                _closeStatus = status;
                _closeDescription = reason;
                _closeReason = CloseReasons.ClientClosed;
            }
        }

        _peerCloseReceived.TrySetResult();
        if (reply)
        {
            // Section 5.5.1: echo the status code received; an empty close is answered with an empty close.
            var echo = status == WebSocketCloseStatus.NoStatusReceived ? (WebSocketCloseStatus?)null : status;
            _closeReply = ReplyToCloseAsync(echo);
        }
        else
        {
            MarkClosed();
        }
    }

    private async Task ReplyToCloseAsync(WebSocketCloseStatus? status)
    {
        await WriteControlFrameAsync(ControlFrameKind.Close, status, null).ConfigureAwait(false);
        MarkClosed();
    }

    private void MarkClosed()
    {
        lock (_gate)
        {
            if (_state is WibeSocketState.CloseReceived or WibeSocketState.CloseSent)
            {
                _state = WibeSocketState.Closed;
            }
        }

        SignalClosedToReceiver();
        TryCancelClosedToken();
    }

    /// <summary>
    /// Fails the connection (RFC 6455 section 7.1.7): the close frame with the error's code is flushed before anything
    /// else ends, then the loop stops parsing; the rest of the input is no longer trustworthy.
    /// </summary>
    private void FailConnection(in ProtocolError error)
    {
        _failedByPeer = true;
        Log.ProtocolError(_logger, ConnectionId, error.Name, error.CloseStatus, error.Reason);
        bool closeNow;
        lock (_gate)
        {
            _closeReason = CloseReasons.For(error.CloseStatus);

            // Messages that arrived whole before the bad frame are still handed out, and the close frame follows
            // their replies (section 7.1.7 forbids processing data after the failure, not before it). The close waits
            // for the handler to take them, at most DeferredFailureBound.
            closeNow = _pending.Count == 0;
            if (!closeNow)
            {
                _deferredFailure = error;
                _deferredFailureSent = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            }
        }

        if (closeNow)
        {
            SendFailureClose(error);
        }
    }

    private void SendFailureClose(in ProtocolError error)
    {
        Volatile.Read(ref _deferredFailureSent)?.TrySetResult();
        _ = SendCloseAsync(error.CloseStatus, error.Reason, CloseReasons.For(error.CloseStatus)).AsTask();
    }

    // The handler has taken every message that preceded a failure: the failure's close frame goes out now.
    private void SendDeferredFailure()
    {
        ProtocolError? failure;
        lock (_gate)
        {
            failure = _deferredFailure;
            _deferredFailure = null;
        }

        if (failure is { } error)
        {
            SendFailureClose(error);
        }
    }

    /// <summary>
    /// Consumes what no handler still borrows and returns how many bytes remain held (borrowed in place, or read
    /// ahead and waiting for the handler).
    /// </summary>
    private long AdvanceInput(ReadOnlySequence<byte> buffer)
    {
        long target = _parsedAbs;
        long owned;
        lock (_gate)
        {
            if (_current.InPlaceStart >= 0 && _current.Type != 0)
            {
                target = Math.Min(target, _current.InPlaceStart);
            }

            foreach (var pending in _pending)
            {
                if (pending.InPlaceStart >= 0)
                {
                    target = Math.Min(target, pending.InPlaceStart);
                    break;
                }
            }

            _loopHoldsInPlaceBytes = target < _parsedAbs;
            owned = _ownedPendingBytes;
        }

        _input.AdvanceTo(buffer.GetPosition(target - _consumedAbs), buffer.End);
        _consumedAbs = target;
        return (_parsedAbs - target) + owned + (_assembly?.Length ?? 0);
    }

    /// <summary>
    /// Past the read-ahead budget the loop stops reading until the handler takes a message, so TCP back-pressure
    /// reaches the peer; below it, pings and closes keep being answered while the handler is busy.
    /// </summary>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder))]
    private async ValueTask WaitForReadAheadAsync(long heldBytes)
    {
        while (heldBytes > _options.MaxReadAheadBytes)
        {
            lock (_gate)
            {
                if (_pending.Count == 0 || _receiveCompleted)
                {
                    return;
                }

                _loopWaitsForDrain = true;
            }

            await _readAheadDrained.WaitAsync().ConfigureAwait(false);
            if (Volatile.Read(ref _aborted) != 0)
            {
                return;
            }

            lock (_gate)
            {
                heldBytes = _ownedPendingBytes + (_parsedAbs - _consumedAbs);
            }

            // Consumption only moves forward on the next read; let it happen and re-check there.
            return;
        }
    }

    private long HeldInPlaceStart()
    {
        lock (_gate)
        {
            return _current.Type != 0 && _current.InPlaceStart >= 0 ? _current.InPlaceStart : -1;
        }
    }

    private void ReleaseReceiveBuffers()
    {
        lock (_gate)
        {
            _current.Owned?.Dispose();
            _current = default;
            while (_pending.TryDequeue(out var pending))
            {
                pending.Owned?.Dispose();
            }
        }

        _assembly?.Dispose();
        _assembly = null;
    }

    private static WibeSocketMessageType ToMessageType(WebSocketOpcode opcode) =>
        opcode == WebSocketOpcode.Text ? WibeSocketMessageType.Text : WibeSocketMessageType.Binary;

    /// <summary>A message waiting for the handler: borrowed from the pipe (InPlaceStart set) or owned (Owned set).</summary>
    private readonly record struct PendingMessage(WibeSocketMessageType Type, ReadOnlySequence<byte> Payload, MessageAssembly? Owned, long InPlaceStart);
}
