using System.Buffers;
using System.IO.Pipelines;
using Shockwave.Protocol;

namespace Shockwave.Testing;

/// <summary>
/// What the runtime does not report about the frames it reads, for the runtime-backed test connection: how many frames
/// carried each data message and whether it arrived compressed (RSV1), and the server's close frame even when it
/// answers ours (the runtime records only a close that opens the handshake). A <see cref="PipeReader"/> in front of
/// the runtime's input that looks at frame headers as the runtime reads them: it skips payloads, validates nothing
/// and copies only a close frame's payload (at most 125 bytes). The runtime parses and enforces everything.
/// </summary>
/// <remarks>
/// The runtime hands data messages out in the order they arrived and never one that did not end with a final frame, so
/// the header of each message's final frame has passed here before the message reaches the receiver: the receiver
/// takes the oldest record per message received. Records of messages the runtime drops (after a close or a failure)
/// stay queued behind the last message handed out and are never taken.
/// </remarks>
internal sealed class ServerFrameTap : PipeReader
{
    private readonly PipeReader _inner;
    private readonly Lock _gate = new();
    private readonly Queue<ReceivedMessageFrames> _messages = new();

    // Read-loop only: offsets count bytes since the connection opened.
    private ReadOnlySequence<byte> _lastBuffer;
    private long _bufferStart;
    private long _nextHeader;
    private bool _stopped;
    private int _messageFrames;
    private bool _messageCompressed;

    private byte[]? _closePayload;

    public ServerFrameTap(PipeReader inner) => _inner = inner;

    /// <summary>The payload of the server's close frame (unmasked, as a server sends it), or null when none arrived.</summary>
    public ReadOnlyMemory<byte>? ClosePayload => Volatile.Read(ref _closePayload) is { } payload ? (ReadOnlyMemory<byte>?)payload : null;

    /// <summary>Takes the record of the oldest data message not yet received.</summary>
    public ReceivedMessageFrames TakeMessage()
    {
        lock (_gate)
        {
            // Never empty for a message the runtime handed out (see the remarks); one frame is the common answer.
            return _messages.TryDequeue(out var frames) ? frames : new ReceivedMessageFrames(1, false);
        }
    }

    public override async ValueTask<ReadResult> ReadAsync(CancellationToken cancellationToken = default)
    {
        var result = await _inner.ReadAsync(cancellationToken).ConfigureAwait(false);
        Look(result.Buffer);
        return result;
    }

    public override bool TryRead(out ReadResult result)
    {
        if (!_inner.TryRead(out result))
        {
            return false;
        }

        Look(result.Buffer);
        return true;
    }

    public override void AdvanceTo(SequencePosition consumed)
    {
        _bufferStart += _lastBuffer.Slice(_lastBuffer.Start, consumed).Length;
        _inner.AdvanceTo(consumed);
    }

    public override void AdvanceTo(SequencePosition consumed, SequencePosition examined)
    {
        _bufferStart += _lastBuffer.Slice(_lastBuffer.Start, consumed).Length;
        _inner.AdvanceTo(consumed, examined);
    }

    public override void CancelPendingRead() => _inner.CancelPendingRead();

    public override void Complete(Exception? exception = null) => _inner.Complete(exception);

    public override ValueTask CompleteAsync(Exception? exception = null) => _inner.CompleteAsync(exception);

    private void Look(ReadOnlySequence<byte> buffer)
    {
        _lastBuffer = buffer;
        while (!_stopped && _nextHeader - _bufferStart < buffer.Length)
        {
            var rest = buffer.Slice(_nextHeader - _bufferStart);
            var status = WebSocketFrameReader.TryReadHeader(rest, WebSocketRole.Client, WibeSocketTestFrame.AnyHeader, out var header, out _);
            if (status == OperationStatus.NeedMoreData)
            {
                return;
            }

            if (status != OperationStatus.Done)
            {
                // A length with its top bit set: nothing after it can be framed. The runtime fails the connection.
                _stopped = true;
                return;
            }

            if (header.Opcode == WebSocketOpcode.Close)
            {
                if (rest.Length < header.HeaderLength + header.PayloadLength)
                {
                    return;
                }

                // The runtime refuses a masked close (a server must not mask, RFC 6455 section 5.1): not the server's close.
                if (!header.IsMasked)
                {
                    Volatile.Write(ref _closePayload, rest.Slice(header.HeaderLength, header.PayloadLength).ToArray());
                }

                // Nothing after a close frame is read (RFC 6455 section 5.5.1).
                _stopped = true;
                return;
            }

            if (!header.Opcode.IsControl())
            {
                OnDataFrame(header);
            }

            _nextHeader += header.HeaderLength + header.PayloadLength;
        }
    }

    private void OnDataFrame(in FrameHeader header)
    {
        if (header.Opcode == WebSocketOpcode.Continuation)
        {
            _messageFrames++;
        }
        else
        {
            _messageFrames = 1;
            _messageCompressed = header.Rsv1;
        }

        if (header.Fin)
        {
            lock (_gate)
            {
                _messages.Enqueue(new ReceivedMessageFrames(_messageFrames, _messageCompressed));
            }
        }
    }
}

/// <summary>How a data message arrived: in how many frames, and whether its first frame had RSV1 set (compressed).</summary>
internal readonly record struct ReceivedMessageFrames(int FrameCount, bool Compressed);
