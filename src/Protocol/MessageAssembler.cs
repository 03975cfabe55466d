using Shockwave.Protocol.Compression;

namespace Shockwave.Protocol;

/// <summary>What <see cref="MessageAssembler.Append"/> made of a segment.</summary>
public enum MessageAssemblyStatus
{
    /// <summary>The segment was taken; the message continues in later segments.</summary>
    NeedMoreData,

    /// <summary>The message is whole: take it with <see cref="MessageAssembler.TakeMessage"/>.</summary>
    MessageComplete,

    /// <summary>The message broke a rule; the connection must be failed with the error's close code.</summary>
    Failed,
}

/// <summary>
/// Builds data messages that did not arrive whole from the <see cref="WebSocketFrameReader"/>'s segments: fragmented
/// messages are copied into pooled memory as they stream in, compressed ones (RFC 7692) are inflated piece by piece,
/// bounded by the message size limit, and inflated text is validated as UTF-8 as it is produced, so a bad byte fails
/// the message as soon as it is inflated (RFC 6455 section 8.1) rather than at its end. No I/O: the caller feeds
/// segments and takes finished messages. A message that arrived as one uncompressed frame needs none of this and is
/// best handed out in place.
/// </summary>
/// <remarks>Not thread-safe: one assembler per connection, fed by its read loop.</remarks>
public sealed class MessageAssembler : IDisposable
{
    private readonly long _maxMessageSize;
    private readonly PerMessageDeflateDecompressor? _decompressor;
    private PooledMessageBuffer? _message;
    private Utf8Validator _inflatedUtf8;
    private int _inflatedValidated;

    /// <summary>Creates an assembler for messages up to <paramref name="maxMessageSize"/> bytes (after inflation).</summary>
    /// <param name="maxMessageSize">The largest message, inclusive, after inflation.</param>
    /// <param name="decompressor">The connection's inflater when permessage-deflate was negotiated; the assembler disposes it.</param>
    public MessageAssembler(long maxMessageSize, PerMessageDeflateDecompressor? decompressor = null)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxMessageSize, 1);
        _maxMessageSize = maxMessageSize;
        _decompressor = decompressor;
    }

    /// <summary>True while a message is being assembled.</summary>
    public bool IsAssembling => _message is not null;

    /// <summary>How many bytes the message being assembled holds so far.</summary>
    public long BufferedLength => _message?.Length ?? 0;

    /// <summary>
    /// Takes one data segment. On <see cref="MessageAssemblyStatus.Failed"/>, <paramref name="error"/> says why and the
    /// assembler must not be fed again.
    /// </summary>
    public MessageAssemblyStatus Append(in FrameSegment segment, out ProtocolError error)
    {
        error = default;
        if (_message is null)
        {
            _message = new PooledMessageBuffer(_maxMessageSize);
            _inflatedUtf8.Reset();
            _inflatedValidated = 0;
        }

        if (!segment.IsCompressed)
        {
            // The frame reader has bounded the total and validated text as it streamed in.
            _message.Append(segment.Payload);
            return segment.IsMessageEnd ? MessageAssemblyStatus.MessageComplete : MessageAssemblyStatus.NeedMoreData;
        }

        if (_decompressor is null)
        {
            // The reader refuses RSV1 unless compression was negotiated, so this is a caller's mistake.
            throw new InvalidOperationException("A compressed segment reached an assembler without a decompressor.");
        }

        var status = _decompressor.Decompress(segment.Payload, _message);
        if (status == DecompressionStatus.Done && segment.IsMessageEnd)
        {
            status = _decompressor.Finish(_message);
        }

        if (status != DecompressionStatus.Done)
        {
            error = status == DecompressionStatus.MessageTooBig ? Errors.MessageTooBig : Errors.InvalidCompressedData;
            return MessageAssemblyStatus.Failed;
        }

        if (segment.Opcode == WebSocketOpcode.Text && !ValidateInflatedText(segment.IsMessageEnd))
        {
            error = Errors.InvalidUtf8;
            return MessageAssemblyStatus.Failed;
        }

        return segment.IsMessageEnd ? MessageAssemblyStatus.MessageComplete : MessageAssemblyStatus.NeedMoreData;
    }

    /// <summary>Hands the finished message to the caller, who disposes it to return its memory to the pool.</summary>
    public PooledMessageBuffer TakeMessage()
    {
        var message = _message ?? throw new InvalidOperationException("No message has been assembled.");
        _message = null;
        return message;
    }

    /// <summary>Returns the message being assembled (if any) to the pool and releases the inflater.</summary>
    public void Dispose()
    {
        _message?.Dispose();
        _message = null;
        _decompressor?.Dispose();
    }

    private bool ValidateInflatedText(bool messageEnd)
    {
        var fresh = _message!.WrittenSpan[_inflatedValidated..];
        _inflatedValidated += fresh.Length;
        return _inflatedUtf8.Append(fresh) && (!messageEnd || _inflatedUtf8.Complete());
    }
}
