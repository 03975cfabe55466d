using System.Buffers;
using System.IO.Pipelines;
using Shockwave.Diagnostics;
using Shockwave.Protocol;
using Shockwave.Protocol.Compression;

namespace Shockwave.Runtime;

/// <summary>
/// The connection's read loop: reads the transport pipe, parses frames with the sans-I/O reader, hands whole messages
/// to the <see cref="InboundQueue"/> (in place when a message arrived whole, assembled by the core's
/// <see cref="MessageAssembler"/> otherwise), answers pings and the peer's close, and fails the connection on a protocol
/// error with the error's close code. It consumes the pipe only past what the handler still borrows, and stops reading
/// past the read-ahead budget.
/// </summary>
internal sealed class ReadLoop
{
    // How long a failure's close frame may wait for the handler to take the messages that arrived before it.
    private static readonly TimeSpan DeferredFailureBound = TimeSpan.FromSeconds(1);

    // How long a failed connection waits for the peer to close after our close frame (RFC 6455 section 7.1.7).
    private static readonly TimeSpan FailureLinger = TimeSpan.FromMilliseconds(500);

    private readonly WibeSocketConnection _connection;
    private readonly WebSocketFrameReader _frameReader;
    private readonly PerMessageDeflateDecompressor? _decompressor;
    private MessageAssembler? _assembler; // created by the first message that does not arrive whole

    // Offsets are absolute byte counts since the connection opened, so they survive AdvanceTo.
    private long _consumedAbs;
    private long _parsedAbs;
    private bool _failedByPeer;
    private long _throttledBytes; // the message that put the peer over its rate limit: reading waits for its tokens
    private Task _closeReply = Task.CompletedTask;

    private ProtocolError? _deferredFailure; // guarded by the connection's gate
    private TaskCompletionSource? _deferredFailureSent; // only when a failure's close waits for the handler

    public ReadLoop(WibeSocketConnection connection, WebSocketFrameReader frameReader, PerMessageDeflateDecompressor? decompressor)
    {
        _connection = connection;
        _frameReader = frameReader;
        _decompressor = decompressor;
    }

    private PipeReader Input => _connection.Setup.Transport.Input;

    private InboundQueue Inbound => _connection.Inbound;

    private CloseHandshake Close => _connection.Close;

    private string ConnectionId => _connection.ConnectionId;

    public async Task RunAsync()
    {
        try
        {
            while (!Close.IsAborted)
            {
                var result = await Input.ReadAsync().ConfigureAwait(false);
                var buffer = result.Buffer;
                if (result.IsCanceled && !Inbound.ConsumeWakeRequest() && _connection.Setup.CancelledReadMeansShutdown)
                {
                    // Not our own wake-up: Kestrel cancels the transport read when the server stops (platform notes 1.3).
                    _connection.OnServerStopping();
                }

                if (buffer.Length > _parsedAbs - _consumedAbs)
                {
                    _connection.OnBytesReceived();
                }

                bool keepReading = ProcessBuffer(buffer);
                long heldBytes = AdvanceInput(buffer);
                if (keepReading && _throttledBytes != 0 && !Close.IsAborted)
                {
                    // Over the inbound rate limit with the back-pressure policy: read nothing more until the peer is
                    // under it; what it sends meanwhile waits in TCP.
                    long bytes = _throttledBytes;
                    _throttledBytes = 0;
                    await _connection.Setup.InboundLimiter!.WaitAsync(bytes, _connection.ConnectionClosed).ConfigureAwait(false);
                    continue;
                }

                if (!keepReading || Close.IsAborted)
                {
                    break;
                }

                if (result.IsCompleted)
                {
                    RuntimeLog.TransportEnded(_connection.Logger, ConnectionId, "the peer closed the connection without a close frame");
                    _connection.AbortCore(CloseReasons.TransportEnded);
                    break;
                }

                await Inbound.WaitForReadAheadAsync(heldBytes).ConfigureAwait(false);
            }
        }
        catch (Exception ex) when (TransportErrors.IsTransportException(ex))
        {
            RuntimeLog.TransportEnded(_connection.Logger, ConnectionId, ex.Message);
            _connection.AbortCore(CloseReasons.TransportEnded);
        }
        finally
        {
            Inbound.Complete();
        }

        if (_failedByPeer)
        {
            await DrainAfterFailureAsync().ConfigureAwait(false);
        }

        // The run awaits this loop before ending the transport: the answer to the peer's close must be flushed first,
        // or a handler that returns at once (the echo sample) ends the request and Kestrel closes TCP without it
        // (R6455-5.5.1-d). WriteCloseAsync never throws.
        await _closeReply.ConfigureAwait(false);
    }

    /// <summary>The handler has taken every message that preceded a failure: the failure's close frame goes out now.</summary>
    public void SendDeferredFailure()
    {
        ProtocolError? failure;
        lock (_connection.Gate)
        {
            failure = _deferredFailure;
            _deferredFailure = null;
        }

        if (failure is { } error)
        {
            SendFailureClose(error);
        }
    }

    /// <summary>Returns the message being assembled and the inflater at the connection's end (after the loop ended).</summary>
    public void ReleaseBuffers()
    {
        if (_assembler is not null)
        {
            _assembler.Dispose();
        }
        else
        {
            _decompressor?.Dispose();
        }
    }

    /// <summary>
    /// After failing the connection, reads and discards what the peer still sends (its close frame, typically) until it
    /// closes TCP or a short linger passes, then ends the connection. Closing with unread input would make the kernel
    /// send a reset, which can destroy the close frame before the peer reads it; waiting the full close timeout would
    /// hold the connection open for nothing, since the rest of the input can no longer be parsed.
    /// </summary>
    private async Task DrainAfterFailureAsync()
    {
        var time = _connection.Time;
        try
        {
            if (_deferredFailureSent is { } deferred)
            {
                await deferred.Task.WaitAsync(DeferredFailureBound, time).ConfigureAwait(false);
            }
        }
        catch (TimeoutException)
        {
            // The handler did not take the earlier messages in time (a send-only handler never asks): close now.
            SendDeferredFailure();
        }

        var closeTimeout = _connection.Setup.Limits.CloseTimeout;
        var linger = closeTimeout < FailureLinger ? closeTimeout : FailureLinger;
        using var deadline = new CancellationTokenSource(linger, time);
        bool flooded = false;
        try
        {
            while (!Close.IsAborted)
            {
                var result = await Input.ReadAsync(deadline.Token).ConfigureAwait(false);
                var buffer = result.Buffer;

                // The message the handler still holds may be borrowed from this buffer: consume only past it, and give
                // up at once if the peer floods the connection meanwhile.
                long held = Inbound.HeldInPlaceStart();
                if (held >= _consumedAbs)
                {
                    if (_consumedAbs + buffer.Length - held > _connection.Setup.Limits.MaxReadAheadBytes)
                    {
                        flooded = true;
                        break;
                    }

                    Input.AdvanceTo(buffer.GetPosition(held - _consumedAbs), buffer.End);
                    _consumedAbs = held;
                }
                else
                {
                    Input.AdvanceTo(buffer.End);
                    _consumedAbs += buffer.Length;
                }

                if (result.IsCompleted || result.IsCanceled)
                {
                    break;
                }
            }
        }
        catch (Exception ex) when (TransportErrors.IsTransportException(ex))
        {
            // The linger ran out or the transport went away: either way the connection ends now.
        }

        if (flooded)
        {
            _connection.AbortCore(Close.Reason);
            return;
        }

        // End gracefully: the handler returns and the server closes TCP with a FIN, not a reset (section 7.1.1).
        Close.StopWaitingForPeer();
        _connection.MarkClosed();
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
            Inbound.SignalIfEnqueued();
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

                    if (_throttledBytes != 0)
                    {
                        // Stop parsing: the rest of the buffer stays unexamined and is parsed once the limiter allows.
                        return true;
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
        if (Close.State != WibeSocketState.Open)
        {
            return true;
        }

        var type = segment.Opcode == WebSocketOpcode.Text ? WibeSocketMessageType.Text : WibeSocketMessageType.Binary;
        if (segment.IsWholeMessage && !segment.IsCompressed && _assembler?.IsAssembling != true)
        {
            Inbound.Enqueue(segment.Payload.IsEmpty
                ? PendingMessage.Empty(type)
                : new PendingMessage(type, segment.Payload, null, payloadStartAbs));
            return Meter(segment.Payload.Length);
        }

        // A message that did not arrive whole (or arrived compressed) is copied out, so the pipe can be consumed as it
        // streams in.
        _assembler ??= new MessageAssembler(_connection.Setup.Limits.MaxMessageSize, _decompressor);
        switch (_assembler.Append(segment, out var error))
        {
            case MessageAssemblyStatus.MessageComplete:
                var owned = _assembler.TakeMessage();
                Inbound.Enqueue(new PendingMessage(type, owned.GetPayload(), owned, -1));
                return Meter(owned.Length);
            case MessageAssemblyStatus.NeedMoreData:
                return true;
            default:
                FailConnection(error);
                return false;
        }
    }

    /// <summary>Counts a whole message against the inbound rate limit; false when it fails the connection.</summary>
    private bool Meter(long bytes)
    {
        if (_connection.Setup.InboundLimiter is not { } limiter || limiter.TryAdmit(bytes))
        {
            return true;
        }

        if (limiter.CloseWhenExceeded)
        {
            FailConnection(Errors.RateLimitExceeded);
            return false;
        }

        _throttledBytes = Math.Max(bytes, 1);
        return true;
    }

    private bool OnControlFrame(in FrameSegment segment)
    {
        switch (segment.Opcode)
        {
            case WebSocketOpcode.Ping:
                // Section 5.5.2: answer with a pong carrying the same payload, as soon as practical.
                _connection.Outbound.OwePong(segment.Payload);
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
        if (Close.OnPeerClose(status, reason, _connection.PeerCloseReason))
        {
            // Section 5.5.1: echo the status code received; an empty close is answered with an empty close.
            var echo = status == WebSocketCloseStatus.NoStatusReceived ? (WebSocketCloseStatus?)null : status;
            _closeReply = ReplyToCloseAsync(echo);
        }
        else
        {
            _connection.MarkClosed();
        }
    }

    private async Task ReplyToCloseAsync(WebSocketCloseStatus? status)
    {
        await _connection.Outbound.WriteCloseAsync(status, null).ConfigureAwait(false);
        _connection.MarkClosed();
    }

    /// <summary>
    /// Fails the connection (RFC 6455 section 7.1.7): the close frame with the error's code is flushed before anything
    /// else ends, then the loop stops parsing; the rest of the input is no longer trustworthy.
    /// </summary>
    private void FailConnection(in ProtocolError error)
    {
        _failedByPeer = true;
        RuntimeLog.ProtocolError(_connection.Logger, ConnectionId, error.Name, error.CloseStatus, error.Reason);
        Close.SetReason(CloseReasons.For(error.CloseStatus));

        // Messages that arrived whole before the bad frame are still handed out, and the close frame follows their
        // replies (section 7.1.7 forbids processing data after the failure, not before it). The close waits for the
        // handler to take them, at most DeferredFailureBound.
        bool closeNow;
        lock (_connection.Gate)
        {
            closeNow = !Inbound.HasPending;
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
        _ = _connection.SendCloseAsync(error.CloseStatus, error.Reason, CloseReasons.For(error.CloseStatus)).AsTask();
    }

    /// <summary>
    /// Consumes what no handler still borrows and returns how many bytes remain held (borrowed in place, or read
    /// ahead and waiting for the handler).
    /// </summary>
    private long AdvanceInput(ReadOnlySequence<byte> buffer)
    {
        long target = Inbound.ConsumableUpTo(_parsedAbs, out long owned);

        // Throttled, the unparsed rest is not examined: the next read must hand it back without waiting for more.
        var examined = _throttledBytes != 0 ? buffer.GetPosition(_parsedAbs - _consumedAbs) : buffer.End;
        Input.AdvanceTo(buffer.GetPosition(target - _consumedAbs), examined);
        _consumedAbs = target;
        return (_parsedAbs - target) + owned + (_assembler?.BufferedLength ?? 0);
    }
}
