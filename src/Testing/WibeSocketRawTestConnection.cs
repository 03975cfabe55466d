using System.Buffers;
using System.IO.Pipelines;
using System.Text;
using Shockwave.Protocol;

namespace Shockwave.Testing;

/// <summary>
/// A frame-level connection to the app under test, from <see cref="WibeSocketTestClient.ConnectRawAsync(string, CancellationToken)"/>:
/// no background reader and no rule the test did not ask for. Every frame sent is masked as a client's must be unless
/// the test sends raw bytes, and every frame received is parsed from what the app wrote. The tool for conformance tests
/// that send broken frames on purpose, or read pings, pongs and closes as they arrive. Dispose it to drop the connection.
/// </summary>
/// <remarks>
/// <para>
/// Every operation honours its <see cref="CancellationToken"/> and fails with a <see cref="TimeoutException"/> after
/// <see cref="WibeSocketTestConnectionBase.Timeout"/>. Sends may run concurrently with each other and with one receive;
/// receives may not overlap. A cancelled receive loses nothing: the next one resumes where it stopped.
/// </para>
/// <para>
/// <see cref="ReceiveAsync"/> applies the protocol rules a client must (unmasked server frames, no unknown opcodes or
/// reserved bits, UTF-8 text, valid close frames, fragmentation order) and throws <see cref="WebSocketProtocolException"/>
/// when the server breaks one; it sends nothing in reply but the pong of <see cref="AutoPong"/>.
/// <see cref="ReceiveFrameAsync"/> applies none, to let tests look at a broken frame. The two cannot be interleaved
/// inside a data message.
/// </para>
/// </remarks>
public sealed class WibeSocketRawTestConnection : WibeSocketTestConnectionBase
{
    private readonly PipeWriter _output;
    private readonly PipeReader _input;
    private readonly SemaphoreSlim _sendLock = new(1, 1);
    private readonly long _maxMessageSize;

    // ReceiveAsync's state; it survives a cancelled receive. The reader keeps its place inside a frame, and a message
    // that did not arrive as one frame is assembled in pooled memory, returned once the message is handed out.
    private readonly WebSocketFrameReader _messageReader;
    private readonly PooledMessageBuffer _message;
    private WibeSocketMessageType _messageType;
    private bool _messageCompressed;
    private int _messageFrames;
    private bool _insideFrame;

    // ReceiveFrameAsync's state: the frame being read; it survives a cancelled receive.
    private FrameHeader _frameHeader;
    private byte[]? _frame;
    private int _frameFilled;

    private volatile bool _closeSent;
    private bool _outputCompleted;

    internal WibeSocketRawTestConnection(UpgradedConnection connection)
        : base(connection)
    {
        _output = connection.Output;
        _input = connection.Input;
        AutoPong = connection.Settings.AutoPong;
        _maxMessageSize = connection.Settings.MaxMessageSize;
        _messageReader = new WebSocketFrameReader(WebSocketRole.Client, new FrameReaderOptions
        {
            MaxFramePayloadLength = _maxMessageSize,
            MaxMessageSize = _maxMessageSize,
            MaxFragmentsPerMessage = int.MaxValue,

            // RFC 7692 section 6: RSV1 means "compressed" only once permessage-deflate was accepted.
            AllowCompressedMessages = connection.Deflate is not null,
        });
        // Holds nothing until a message arrives in pieces, and gives its memory back once that message is handed out.
        _message = new PooledMessageBuffer(_maxMessageSize);
        _message.Dispose();
    }

    /// <summary>Whether <see cref="ReceiveAsync"/> answers pings with pongs; starts as the client's <see cref="WibeSocketTestClient.AutoPong"/>.</summary>
    public bool AutoPong { get; set; }

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
        return RunAsync(
            token => WriteAsync(output => WebSocketFrameWriter.WriteFrame(output, WebSocketRole.Client, opcode, fin, rsv1, payload.Span), opcode == WebSocketOpcode.Close, token),
            $"Sending a {opcode} frame",
            cancellationToken);
    }

    /// <summary>
    /// Sends bytes as they are, with no framing or masking: hand-made frames, an unmasked frame, or one frame split
    /// over several calls to test a server's incremental parsing.
    /// </summary>
    public Task SendRawAsync(ReadOnlyMemory<byte> bytes, CancellationToken cancellationToken = default)
    {
        ThrowIfDisposed();
        return RunAsync(
            token => WriteAsync(output => output.Write(bytes.Span), isClose: false, token),
            "Sending raw bytes",
            cancellationToken);
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
    /// <exception cref="WebSocketProtocolException">The server broke a rule of RFC 6455 before its close.</exception>
    /// <exception cref="EndOfStreamException">The server closed the connection without a close frame.</exception>
    public Task<WibeSocketTestMessage> CloseAsync(WebSocketCloseStatus status = WebSocketCloseStatus.NormalClosure, string? reason = null, CancellationToken cancellationToken = default)
    {
        ThrowIfDisposed();
        return RunAsync(
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
            cancellationToken);
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
        return RunAsync(ReceiveMessageGuardedAsync, "Receiving a message", cancellationToken);
    }

    /// <summary>Receives the next frame as sent, with no protocol rule applied and no automatic pong.</summary>
    /// <exception cref="EndOfStreamException">The server closed the connection before a whole frame arrived.</exception>
    /// <exception cref="InvalidOperationException"><see cref="ReceiveAsync"/> has received part of a message.</exception>
    public Task<WibeSocketTestFrame> ReceiveFrameAsync(CancellationToken cancellationToken = default)
    {
        ThrowIfDisposed();
        return RunAsync(
            async token =>
            {
                EnterReceive();
                try
                {
                    if (_messageReader.IsInMessage || _insideFrame)
                    {
                        throw new InvalidOperationException("ReceiveAsync has received part of a message; ReceiveFrameAsync would start inside it.");
                    }

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
            cancellationToken);
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

    private protected override async ValueTask DropAsync()
    {
        // Pending sends end on the disposal; wait for them so the writer is not completed mid-write.
        await _sendLock.WaitAsync(CancellationToken.None).ConfigureAwait(false);
        _outputCompleted = true;
        _output.Complete();
        _sendLock.Release();

        WaitForReceiveToExit();
        _input.Complete();
        _message.Dispose();
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
            if (_frame is not null)
            {
                throw new InvalidOperationException("ReceiveFrameAsync has received part of a frame; ReceiveAsync would start inside it.");
            }

            var message = await ReceiveMessageAsync(cancellationToken).ConfigureAwait(false);

            // RFC 6455 section 5.5.2; after our close nothing more is owed (section 5.5.1).
            if (message.Type == WibeSocketMessageType.Ping && AutoPong && !_closeSent && !_outputCompleted)
            {
                byte[] payload = message.Payload.ToArray();
                await WriteAsync(output => WebSocketFrameWriter.WriteFrame(output, WebSocketRole.Client, WebSocketOpcode.Pong, fin: true, rsv1: false, payload), isClose: false, cancellationToken).ConfigureAwait(false);
            }

            return message;
        }
        finally
        {
            ExitReceive();
        }
    }

    // Feeds the frame reader what the pipe holds and consumes exactly what it parsed, so a message is copied once, as it
    // streams in, and the server's writes are back-pressured only by what the client has not read yet, as on a socket.
    private async Task<WibeSocketTestMessage> ReceiveMessageAsync(CancellationToken cancellationToken)
    {
        while (true)
        {
            var result = await _input.ReadAsync(cancellationToken).ConfigureAwait(false);
            var buffer = result.Buffer;
            var unread = buffer;
            WibeSocketTestMessage? message = null;
            ProtocolError? failure = null;
            try
            {
                while (message is null && failure is null)
                {
                    var status = _messageReader.Read(ref unread, out var segment, out var error);
                    if (status == FrameReadStatus.NeedMoreData)
                    {
                        break;
                    }

                    switch (status)
                    {
                        case FrameReadStatus.ControlFrame:
                            message = ToControlMessage(segment);
                            break;
                        case FrameReadStatus.MessagePayload:
                            message = OnMessagePayload(segment);
                            break;
                        default:
                            failure = error;
                            break;
                    }
                }
            }
            finally
            {
                // Bytes after a message are not examined yet: the next receive must not wait for more data to see them.
                _input.AdvanceTo(unread.Start, message is null && failure is null ? unread.End : unread.Start);
            }

            if (failure is { } protocolError)
            {
                throw new WebSocketProtocolException(protocolError);
            }

            if (message is not null)
            {
                return message;
            }

            if (result.IsCompleted)
            {
                throw Connection.EndOfStream(
                    !unread.IsEmpty ? "in the middle of a frame"
                    : _insideFrame ? "in the middle of a frame's payload"
                    : "before the next frame");
            }
        }
    }

    private WibeSocketTestMessage ToControlMessage(in FrameSegment segment)
    {
        byte[] payload = segment.Payload.ToArray();
        switch (segment.Opcode)
        {
            case WebSocketOpcode.Close:
                var (status, reason) = ClosePayload.Parse(segment.Payload);
                return SetReceivedClose(new WibeSocketTestMessage(WibeSocketMessageType.Close, payload, 1, closeStatus: status, closeReason: reason));
            case WebSocketOpcode.Ping:
                return new WibeSocketTestMessage(WibeSocketMessageType.Ping, payload, 1);
            default:
                return new WibeSocketTestMessage(WibeSocketMessageType.Pong, payload, 1);
        }
    }

    // Returns the message once its last piece is in, null before.
    private WibeSocketTestMessage? OnMessagePayload(in FrameSegment segment)
    {
        _insideFrame = !segment.IsFrameEnd;
        if (segment.IsMessageStart)
        {
            _messageType = segment.Opcode == WebSocketOpcode.Text ? WibeSocketMessageType.Text : WibeSocketMessageType.Binary;
            _messageCompressed = segment.IsCompressed;
            _messageFrames = 0;
        }

        if (segment.IsFrameEnd)
        {
            _messageFrames++;
        }

        // A message that arrived whole is copied straight out of the pipe; others are assembled first.
        if (segment.IsWholeMessage)
        {
            return new WibeSocketTestMessage(_messageType, segment.Payload.ToArray(), _messageFrames, _messageCompressed);
        }

        _message.Append(segment.Payload);
        if (!segment.IsMessageEnd)
        {
            return null;
        }

        var message = new WibeSocketTestMessage(_messageType, _message.WrittenSpan.ToArray(), _messageFrames, _messageCompressed);
        _message.Dispose();
        return message;
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
                var status = WebSocketFrameReader.TryReadHeader(buffer, WebSocketRole.Client, WibeSocketTestFrame.AnyHeader, out var header, out _);
                if (status == OperationStatus.NeedMoreData)
                {
                    _input.AdvanceTo(buffer.Start, buffer.End);
                    if (result.IsCompleted)
                    {
                        throw Connection.EndOfStream(buffer.IsEmpty ? "before the next frame" : "in the middle of a frame header");
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
                throw Connection.EndOfStream("in the middle of a frame's payload");
            }
        }
    }
}
