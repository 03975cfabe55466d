using System.Buffers;
using System.IO.Pipelines;
using System.Runtime.ExceptionServices;
using System.Text;
using Microsoft.AspNetCore.Http;
using Shockwave.Protocol;

namespace Shockwave.Testing;

/// <summary>
/// An open WebSocket connection to the app under test, speaking RFC 6455 bytes: every frame sent is masked as a
/// client's must be, every frame received is parsed from what the app wrote. Dispose it to drop the connection.
/// </summary>
/// <remarks>
/// <para>
/// Every operation honours its <see cref="CancellationToken"/> and fails with a <see cref="TimeoutException"/> after
/// <see cref="Timeout"/>. Sends may run concurrently with each other and with one receive; receives may not overlap.
/// A cancelled receive loses nothing: the next one resumes where it stopped.
/// </para>
/// <para>
/// <see cref="ReceiveAsync"/> applies the protocol rules a client must (unmasked server frames, no unknown opcodes or
/// reserved bits, UTF-8 text, valid close frames, fragmentation order) and throws <see cref="WebSocketProtocolException"/>
/// when the server breaks one. <see cref="ReceiveFrameAsync"/> applies none, to let tests look at a broken frame; the
/// two should not be interleaved inside a fragmented message.
/// </para>
/// </remarks>
public sealed class WibeSocketTestConnection : IAsyncDisposable
{
    // Decodes any header, however invalid, so that ReceiveFrameAsync can show it.
    private static readonly FrameReaderOptions AnyHeader = new()
    {
        MaxFramePayloadLength = long.MaxValue,
        MaxMessageSize = long.MaxValue,
        AllowCompressedMessages = true,
    };

    private readonly PipeWriter _output;
    private readonly PipeReader _input;
    private readonly DuplexPipeStream _serverStream;
    private readonly Stream _responseBody;
    private readonly CancellationTokenSource _aborted;
    private readonly SemaphoreSlim _sendLock = new(1, 1);
    private readonly WebSocketFrameReader _messageReader;
    private readonly int _maxMessageSize;
    private readonly Task<ExceptionDispatchInfo?> _serverFinished;
    private TimeSpan _timeout;

    // The data message being assembled; it survives a cancelled receive.
    private readonly ArrayBufferWriter<byte> _message = new();
    private WebSocketOpcode _messageOpcode;
    private bool _messageCompressed;
    private int _messageFrames;

    // The frame being read; it survives a cancelled receive.
    private FrameHeader _frameHeader;
    private byte[]? _frame;
    private int _frameFilled;

    private int _receiving;
    private int _disposed;
    private volatile bool _closeSent;
    private bool _outputCompleted;

    internal WibeSocketTestConnection(
        PipeWriter output,
        PipeReader input,
        DuplexPipeStream serverStream,
        Stream responseBody,
        CancellationTokenSource aborted,
        IHeaderDictionary responseHeaders,
        ConnectionSettings settings,
        bool compressionNegotiated)
    {
        _output = output;
        _input = input;
        _serverStream = serverStream;
        _responseBody = responseBody;
        _aborted = aborted;
        ResponseHeaders = responseHeaders;
        _timeout = settings.Timeout;
        AutoPong = settings.AutoPong;
        _maxMessageSize = settings.MaxMessageSize;

        string? protocol = responseHeaders.SecWebSocketProtocol;
        SubProtocol = string.IsNullOrEmpty(protocol) ? null : protocol.Trim();
        string? extensions = responseHeaders.SecWebSocketExtensions;
        Extensions = string.IsNullOrEmpty(extensions) ? null : extensions;
        _messageReader = new WebSocketFrameReader(WebSocketRole.Client, new FrameReaderOptions
        {
            MaxFramePayloadLength = _maxMessageSize,
            MaxMessageSize = _maxMessageSize,
            MaxFragmentsPerMessage = int.MaxValue,
            AllowCompressedMessages = compressionNegotiated,
        });
        _serverFinished = ObserveServerAsync();
    }

    /// <summary>The subprotocol the server selected (<c>Sec-WebSocket-Protocol</c> in its 101), or null.</summary>
    public string? SubProtocol { get; }

    /// <summary>The extensions the server accepted (<c>Sec-WebSocket-Extensions</c> in its 101), or null.</summary>
    public string? Extensions { get; }

    /// <summary>A copy of the 101 response's headers, including those set by middleware around the endpoint.</summary>
    public IHeaderDictionary ResponseHeaders { get; }

    /// <summary>
    /// The longest each operation may take before it fails with a <see cref="TimeoutException"/>. Starts as the
    /// client's <see cref="WibeSocketTestClient.Timeout"/>; <see cref="System.Threading.Timeout.InfiniteTimeSpan"/> disables it.
    /// </summary>
    public TimeSpan Timeout
    {
        get => _timeout;
        set
        {
            Timeouts.Validate(value, nameof(value));
            _timeout = value;
        }
    }

    /// <summary>Whether <see cref="ReceiveAsync"/> answers pings with pongs; starts as the client's <see cref="WibeSocketTestClient.AutoPong"/>.</summary>
    public bool AutoPong { get; set; }

    /// <summary>The close frame received from the server, once <see cref="ReceiveAsync"/> or <see cref="CloseAsync"/> has read one.</summary>
    public WibeSocketTestMessage? ReceivedClose { get; private set; }

    /// <summary>Sends a text message as one frame.</summary>
    public Task SendTextAsync(string text, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(text);
        return SendFrameAsync(WebSocketOpcode.Text, fin: true, Encoding.UTF8.GetBytes(text), rsv1: false, cancellationToken);
    }

    /// <summary>Sends a binary message as one frame.</summary>
    public Task SendBinaryAsync(ReadOnlyMemory<byte> data, CancellationToken cancellationToken = default) =>
        SendFrameAsync(WebSocketOpcode.Binary, fin: true, data, rsv1: false, cancellationToken);

    /// <summary>
    /// Sends one masked frame with exactly these header bits. Nothing is checked, so a test can send what a broken client
    /// would: a fragment sequence, a reserved opcode (cast any value to <see cref="WebSocketOpcode"/>), RSV1 without
    /// an extension, a control frame over 125 bytes.
    /// </summary>
    public Task SendFrameAsync(WebSocketOpcode opcode, bool fin, ReadOnlyMemory<byte> payload, bool rsv1 = false, CancellationToken cancellationToken = default)
    {
        ThrowIfDisposed();
        return Timeouts.RunAsync(
            token => WriteAsync(output => WebSocketFrameWriter.WriteFrame(output, WebSocketRole.Client, opcode, fin, rsv1, payload.Span), opcode == WebSocketOpcode.Close, token),
            $"Sending a {opcode} frame",
            _timeout,
            cancellationToken,
            _aborted.Token);
    }

    /// <summary>
    /// Sends bytes as they are, with no framing or masking: hand-made frames, an unmasked frame, or one frame split
    /// over several calls to test a server's incremental parsing.
    /// </summary>
    public Task SendRawAsync(ReadOnlyMemory<byte> bytes, CancellationToken cancellationToken = default)
    {
        ThrowIfDisposed();
        return Timeouts.RunAsync(
            token => WriteAsync(output => output.Write(bytes.Span), isClose: false, token),
            "Sending raw bytes",
            _timeout,
            cancellationToken,
            _aborted.Token);
    }

    /// <summary>Sends a ping; the pong comes back through <see cref="ReceiveAsync"/>.</summary>
    public Task PingAsync(ReadOnlyMemory<byte> payload = default, CancellationToken cancellationToken = default) =>
        SendFrameAsync(WebSocketOpcode.Ping, fin: true, payload, rsv1: false, cancellationToken);

    /// <summary>Sends a pong, solicited or not (RFC 6455 section 5.5.3 allows a unidirectional heartbeat).</summary>
    public Task PongAsync(ReadOnlyMemory<byte> payload = default, CancellationToken cancellationToken = default) =>
        SendFrameAsync(WebSocketOpcode.Pong, fin: true, payload, rsv1: false, cancellationToken);

    /// <summary>
    /// Sends a close frame and returns without waiting for the server's. A null status sends an empty close payload.
    /// The reason is truncated to fit 123 bytes.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">The status may not be sent (1005, 1006, 1015 and unassigned codes; RFC 6455 section 7.4).</exception>
    public Task SendCloseAsync(WebSocketCloseStatus? status, string? reason = null, CancellationToken cancellationToken = default)
    {
        byte[] payload = new byte[125];
        int length = ClosePayload.Write(payload, status, reason);
        return SendFrameAsync(WebSocketOpcode.Close, fin: true, payload.AsMemory(0, length), rsv1: false, cancellationToken);
    }

    /// <summary>
    /// The closing handshake from the client's side (RFC 6455 section 7.1.2): sends a close frame (unless one was sent
    /// already), then receives until the server's close frame arrives, discarding any messages before it, and returns
    /// it. If the server's close had already been received, returns it at once.
    /// </summary>
    public Task<WibeSocketTestMessage> CloseAsync(WebSocketCloseStatus status = WebSocketCloseStatus.NormalClosure, string? reason = null, CancellationToken cancellationToken = default)
    {
        ThrowIfDisposed();
        return Timeouts.RunAsync(
            async token =>
            {
                if (!_closeSent)
                {
                    byte[] payload = new byte[125];
                    int length = ClosePayload.Write(payload, status, reason);
                    await WriteAsync(
                        output => WebSocketFrameWriter.WriteFrame(output, WebSocketRole.Client, WebSocketOpcode.Close, fin: true, rsv1: false, payload.AsSpan(0, length)),
                        isClose: true,
                        token).ConfigureAwait(false);
                }

                while (ReceivedClose is null)
                {
                    await ReceiveMessageGuardedAsync(token).ConfigureAwait(false);
                }

                return ReceivedClose;
            },
            "The closing handshake",
            _timeout,
            cancellationToken,
            _aborted.Token);
    }

    /// <summary>
    /// Receives the next message: a whole data message (fragments joined) or a control frame. A ping is answered
    /// before it is returned when <see cref="AutoPong"/> is set.
    /// </summary>
    /// <exception cref="WebSocketProtocolException">The server broke a rule of RFC 6455 or exceeded the client's message limit.</exception>
    /// <exception cref="EndOfStreamException">The server closed the connection before a whole message arrived.</exception>
    public Task<WibeSocketTestMessage> ReceiveAsync(CancellationToken cancellationToken = default)
    {
        ThrowIfDisposed();
        return Timeouts.RunAsync(ReceiveMessageGuardedAsync, "Receiving a message", _timeout, cancellationToken, _aborted.Token);
    }

    /// <summary>Receives the next frame as sent, with no protocol rule applied and no automatic pong.</summary>
    /// <exception cref="EndOfStreamException">The server closed the connection before a whole frame arrived.</exception>
    public Task<WibeSocketTestFrame> ReceiveFrameAsync(CancellationToken cancellationToken = default)
    {
        ThrowIfDisposed();
        return Timeouts.RunAsync(
            async token =>
            {
                EnterReceive();
                try
                {
                    var (header, wire) = await ReadFrameAsync(token).ConfigureAwait(false);
                    byte[] payload = wire.AsSpan(header.HeaderLength).ToArray();
                    if (header.IsMasked)
                    {
                        WebSocketMask.Apply(payload, header.MaskKey, 0);
                    }

                    return new WibeSocketTestFrame(header, payload, wire);
                }
                finally
                {
                    ExitReceive();
                }
            },
            "Receiving a frame",
            _timeout,
            cancellationToken,
            _aborted.Token);
    }

    /// <summary>
    /// Ends the client's output, as a TCP FIN would: the app's next read returns 0 after what was already sent.
    /// Sending afterwards throws.
    /// </summary>
    /// <exception cref="InvalidOperationException">A send is in progress.</exception>
    public void CompleteOutput()
    {
        ThrowIfDisposed();
        if (!_sendLock.Wait(0))
        {
            throw new InvalidOperationException("A send is in progress; await it before completing the output.");
        }

        try
        {
            if (!_outputCompleted)
            {
                _outputCompleted = true;
                _output.Complete();
            }
        }
        finally
        {
            _sendLock.Release();
        }
    }

    /// <summary>
    /// Waits until the app has finished the request (its endpoint returned, or it threw) and rethrows the exception it
    /// threw after the 101, if any. TestHost completes the request only then, so this is how a test observes a failure
    /// the client could otherwise only see as a dropped connection.
    /// </summary>
    public async Task WaitForServerToFinishAsync(CancellationToken cancellationToken = default)
    {
        ThrowIfDisposed();
        var failure = await Timeouts.RunAsync(
            token => _serverFinished.WaitAsync(token),
            "Waiting for the app to finish the request",
            _timeout,
            cancellationToken,
            _aborted.Token).ConfigureAwait(false);
        failure?.Throw();
    }

    /// <summary>
    /// Drops the connection without a closing handshake, as a vanished client would: pending operations end, the
    /// app's <c>HttpContext.RequestAborted</c> fires and its reads return 0. It does not wait for the app.
    /// </summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        await _aborted.CancelAsync().ConfigureAwait(false);

        // Pending sends end on the cancellation above; wait for them so the writer is not completed mid-write.
        await _sendLock.WaitAsync(CancellationToken.None).ConfigureAwait(false);
        _outputCompleted = true;
        _output.Complete();
        _sendLock.Release();

        // A cancelled receive may still be unwinding on another thread; the reader must not be completed under it.
        var spin = default(SpinWait);
        while (Volatile.Read(ref _receiving) != 0)
        {
            spin.SpinOnce();
        }

        _input.Complete();
        await _responseBody.DisposeAsync().ConfigureAwait(false);
        _aborted.Dispose();
    }

    private async Task WriteAsync(Action<PipeWriter> write, bool isClose, CancellationToken cancellationToken)
    {
        await _sendLock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            ThrowIfDisposed();
            if (_outputCompleted)
            {
                throw new InvalidOperationException("The output was completed; nothing more can be sent.");
            }

            write(_output);
            if (isClose)
            {
                _closeSent = true;
            }

            // After the app has finished the result says so; like a socket write, that is not an error here.
            await _output.FlushAsync(cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            _sendLock.Release();
        }
    }

    private async Task<WibeSocketTestMessage> ReceiveMessageGuardedAsync(CancellationToken cancellationToken)
    {
        EnterReceive();
        try
        {
            return await ReceiveMessageAsync(cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            ExitReceive();
        }
    }

    private async Task<WibeSocketTestMessage> ReceiveMessageAsync(CancellationToken cancellationToken)
    {
        while (true)
        {
            var (_, wire) = await ReadFrameAsync(cancellationToken).ConfigureAwait(false);

            // The reader sees one whole frame at a time, so it never asks for more data.
            var buffer = new ReadOnlySequence<byte>(wire);
            do
            {
                var status = _messageReader.Read(ref buffer, out var segment, out var error);
                switch (status)
                {
                    case FrameReadStatus.Error:
                        throw new WebSocketProtocolException(error);

                    case FrameReadStatus.ControlFrame:
                        return await OnControlFrameAsync(segment, cancellationToken).ConfigureAwait(false);

                    case FrameReadStatus.MessagePayload:
                        if (segment.IsMessageStart)
                        {
                            _message.ResetWrittenCount();
                            _messageOpcode = segment.Opcode;
                            _messageCompressed = segment.IsCompressed;
                            _messageFrames = 0;
                        }

                        foreach (var memory in segment.Payload)
                        {
                            _message.Write(memory.Span);
                        }

                        if (segment.IsFrameEnd)
                        {
                            _messageFrames++;
                        }

                        if (segment.IsMessageEnd)
                        {
                            var type = _messageOpcode == WebSocketOpcode.Text ? WibeSocketMessageType.Text : WibeSocketMessageType.Binary;
                            return new WibeSocketTestMessage(type, _message.WrittenSpan.ToArray(), _messageFrames, _messageCompressed);
                        }

                        break;

                    default:
                        throw new InvalidOperationException($"The frame reader returned {status} for a whole frame.");
                }
            }
            while (!buffer.IsEmpty);
        }
    }

    private async Task<WibeSocketTestMessage> OnControlFrameAsync(FrameSegment segment, CancellationToken cancellationToken)
    {
        byte[] payload = segment.Payload.ToArray();
        switch (segment.Opcode)
        {
            case WebSocketOpcode.Close:
                var (status, reason) = ClosePayload.Parse(segment.Payload);
                ReceivedClose = new WibeSocketTestMessage(WibeSocketMessageType.Close, payload, 1, closeStatus: status, closeReason: reason);
                return ReceivedClose;

            case WebSocketOpcode.Ping:
                // RFC 6455 section 5.5.2; after our close nothing more is owed (section 5.5.1).
                if (AutoPong && !_closeSent && !_outputCompleted)
                {
                    await WriteAsync(output => WebSocketFrameWriter.WriteFrame(output, WebSocketRole.Client, WebSocketOpcode.Pong, fin: true, rsv1: false, payload), isClose: false, cancellationToken).ConfigureAwait(false);
                }

                return new WibeSocketTestMessage(WibeSocketMessageType.Ping, payload, 1);

            default:
                return new WibeSocketTestMessage(WibeSocketMessageType.Pong, payload, 1);
        }
    }

    // Reads one whole frame, copying its payload as it streams in so the server's writes are back-pressured only by
    // what the client has not read yet, as on a socket.
    private async Task<(FrameHeader Header, byte[] Wire)> ReadFrameAsync(CancellationToken cancellationToken)
    {
        while (true)
        {
            var result = await _input.ReadAsync(cancellationToken).ConfigureAwait(false);
            var buffer = result.Buffer;
            if (_frame is null)
            {
                var status = WebSocketFrameReader.TryReadHeader(buffer, WebSocketRole.Client, AnyHeader, out var header, out _);
                if (status == OperationStatus.NeedMoreData)
                {
                    _input.AdvanceTo(buffer.Start, buffer.End);
                    if (result.IsCompleted)
                    {
                        throw EndOfStream(buffer.IsEmpty ? "before the next frame" : "in the middle of a frame header");
                    }

                    continue;
                }

                if (header.PayloadLength < 0)
                {
                    _input.AdvanceTo(buffer.Start);
                    throw new WebSocketProtocolException(Errors.LengthMostSignificantBit);
                }

                if (header.PayloadLength > _maxMessageSize)
                {
                    _input.AdvanceTo(buffer.Start);
                    throw new WebSocketProtocolException(Errors.FrameTooBig);
                }

                _frameHeader = header;
                _frame = new byte[header.HeaderLength + header.PayloadLength];
                buffer.Slice(0, header.HeaderLength).CopyTo(_frame);
                _frameFilled = header.HeaderLength;
                buffer = buffer.Slice(header.HeaderLength);
            }

            int take = (int)Math.Min(buffer.Length, _frame.Length - _frameFilled);
            buffer.Slice(0, take).CopyTo(_frame.AsSpan(_frameFilled));
            _frameFilled += take;
            buffer = buffer.Slice(take);
            if (_frameFilled == _frame.Length)
            {
                // Only what this frame used is examined: the next frame may already be buffered.
                _input.AdvanceTo(buffer.Start);
                var frame = (_frameHeader, _frame);
                _frame = null;
                return frame;
            }

            _input.AdvanceTo(buffer.Start, buffer.End);

            if (result.IsCompleted)
            {
                throw EndOfStream("in the middle of a frame's payload");
            }
        }
    }

    private EndOfStreamException EndOfStream(string where)
    {
        // If the app failed, say so: that is usually why the connection ended.
        var appFailure = _serverFinished.IsCompletedSuccessfully ? _serverFinished.Result?.SourceException : null;
        return new EndOfStreamException($"The server closed the connection {where}.", appFailure);
    }

    // Reads TestHost's response body to its end, which comes when the app has finished the request, and keeps the
    // exception TestHost ends it with if the app threw.
    private async Task<ExceptionDispatchInfo?> ObserveServerAsync()
    {
        ExceptionDispatchInfo? failure = null;
        try
        {
            byte[] buffer = new byte[256];

            // Nothing can be written to the body after the 101; the loop only waits for its end. No token: cancelling
            // a read of TestHost's response stream aborts the request.
            while (await _responseBody.ReadAsync(buffer, CancellationToken.None).ConfigureAwait(false) > 0)
            {
            }
        }
        catch (Exception ex) when (!_aborted.IsCancellationRequested)
        {
            // TestHost wraps the app's exception in an IOException on some paths.
            failure = ExceptionDispatchInfo.Capture(ex is IOException { InnerException: { } inner } ? inner : ex);
        }
        catch (Exception) when (_aborted.IsCancellationRequested)
        {
            // The client dropped the connection: the end of the request is its doing, not the app's failure.
            return null;
        }

        // Kestrel closes the connection when the app returns from an upgraded request; the client reads end of stream.
        _serverStream.Complete();
        return failure;
    }

    private void EnterReceive()
    {
        if (Interlocked.Exchange(ref _receiving, 1) != 0)
        {
            throw new InvalidOperationException("Another receive is in progress; receives may not overlap.");
        }
    }

    private void ExitReceive() => Volatile.Write(ref _receiving, 0);

    private void ThrowIfDisposed() => ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
}
