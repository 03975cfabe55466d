using System.Buffers;

namespace Shockwave.Protocol.Compression;

/// <summary>What <see cref="PerMessageDeflateDecompressor"/> made of the input it was given.</summary>
public enum DecompressionStatus
{
    /// <summary>All input given so far is inflated into the destination; pass the next piece, or finish the message.</summary>
    Done,

    /// <summary>
    /// The message inflates to more than <see cref="PerMessageDeflateDecompressor.MaxMessageSize"/> bytes. At most that many
    /// were written and inflating stopped there. Fail the connection with 1009 (<see cref="Errors.MessageTooBig"/>).
    /// </summary>
    MessageTooBig,

    /// <summary>
    /// The payload is not valid DEFLATE. Fail the connection with 1007 (<see cref="Errors.InvalidCompressedData"/>): the
    /// data is inconsistent with the message (RFC 6455 section 7.4.1), and the inflater's window can no longer be trusted.
    /// </summary>
    InvalidData,
}

/// <summary>
/// Inflates incoming compressed messages for one connection as RFC 7692 section 7.2.2 describes: the payload of every
/// frame of a message goes through <see cref="Decompress(ReadOnlySpan{byte}, IBufferWriter{byte})"/> as it arrives, then
/// <see cref="Finish"/> appends <c>00 00 FF FF</c> and completes the message.
/// </summary>
/// <remarks>
/// <para>
/// Bounded: output is written as it is produced, never buffered here, and inflating stops once a message would exceed
/// <see cref="MaxMessageSize"/> (a few KiB of DEFLATE can expand to gigabytes), having written at most that many bytes.
/// </para>
/// <para>
/// The window is kept across messages (R7692-7.2.2-b) unless the peer agreed to no-context-takeover, in which case the
/// inflater is released after each message, so an idle connection holds none. The runtime codec inflates with a 2^15
/// window whatever was agreed; the system zlib codec with the peer's agreed window (R7692-7.2.2-e), so a client held
/// to <c>client_max_window_bits=10</c> costs 1 KiB of window instead of 32 KiB.
/// </para>
/// <para>
/// A peer that ends a message with a block whose BFINAL bit is set (RFC 7692 section 7.2.3.4) has ended its DEFLATE
/// stream: the bytes after that block (what is left of an empty stored block, completed by the appended trailer) are
/// discarded, and the next message starts a new stream with an empty window, as the peer's must.
/// </para>
/// <para>
/// A compressed message with an empty payload, which RFC 7692 senders never produce (section 7.2.3.6 gives <c>00</c>),
/// is taken as an empty message without touching the window. Not thread-safe: one instance serves one connection's
/// receive side.
/// </para>
/// </remarks>
public sealed class PerMessageDeflateDecompressor : IDisposable
{
    // The sync-flush trailer the sender removed (RFC 7692 section 7.2.2).
    private static ReadOnlySpan<byte> Trailer => [0x00, 0x00, 0xFF, 0xFF];

    // How much output space to ask the destination for at a time; the stream's own buffer is 8 KiB.
    private const int OutputChunk = 16 * 1024;

    private readonly IDeflateBackend _backend;
    private readonly int _peerWindowBits;
    private IRawInflater? _inflater;
    private long _messageLength;
    private long _messageInput;
    private long _messageConsumed;
    private bool _streamEnded;
    private DecompressionStatus _failure;
    private bool _disposed;

    /// <summary>Creates the decompressor for the endpoint playing <paramref name="role"/>.</summary>
    /// <param name="parameters">The agreed parameters; the peer's context takeover is read for <paramref name="role"/>.</param>
    /// <param name="maxMessageSize">The largest inflated message accepted, inclusive; at least 1.</param>
    /// <param name="role">Which end this is. The default is <see cref="WebSocketRole.Server"/>.</param>
    public PerMessageDeflateDecompressor(PerMessageDeflateParameters parameters, long maxMessageSize, WebSocketRole role = WebSocketRole.Server)
        : this(parameters, maxMessageSize, role, DeflateStreamBackend.Instance)
    {
    }

    /// <summary>
    /// Creates the decompressor for the endpoint playing <paramref name="role"/> with the codec of <paramref name="options"/>
    /// (the system zlib codec falls back to the runtime codec where it is missing).
    /// </summary>
    public PerMessageDeflateDecompressor(PerMessageDeflateParameters parameters, PerMessageDeflateOptions options, long maxMessageSize, WebSocketRole role = WebSocketRole.Server)
        : this(parameters, maxMessageSize, role, DeflateBackends.Select(PerMessageDeflateCompressor.ValidOptions(options).Codec, options.MemoryLevel))
    {
    }

    internal PerMessageDeflateDecompressor(PerMessageDeflateParameters parameters, long maxMessageSize, WebSocketRole role, IDeflateBackend backend)
    {
        parameters.Validate();
        ArgumentOutOfRangeException.ThrowIfLessThan(maxMessageSize, 1);
        _backend = backend;
        MaxMessageSize = maxMessageSize;
        PeerNoContextTakeover = parameters.PeerNoContextTakeover(role);
        _peerWindowBits = parameters.PeerMaxWindowBits(role);
    }

    /// <summary>The codec in use, after any fallback.</summary>
    public PerMessageDeflateCodec Codec => DeflateBackends.CodecOf(_backend);

    /// <summary>The largest inflated message accepted, inclusive.</summary>
    public long MaxMessageSize { get; }

    /// <summary>Whether the peer compresses every message with an empty window, so no window is kept here.</summary>
    public bool PeerNoContextTakeover { get; }

    /// <summary>How many bytes the current message has inflated to so far.</summary>
    public long MessageLength => _messageLength;

    /// <summary>Inflates the next piece of a compressed message's payload (any split, any size) into <paramref name="destination"/>.</summary>
    public DecompressionStatus Decompress(ReadOnlySpan<byte> compressed, IBufferWriter<byte> destination)
    {
        ThrowIfUnusable();
        ArgumentNullException.ThrowIfNull(destination);
        if (compressed.IsEmpty)
        {
            return DecompressionStatus.Done;
        }

        _messageInput += compressed.Length;
        return Inflate(compressed, destination);
    }

    /// <summary>Inflates the next piece of a compressed message's payload, such as a frame reader's segment.</summary>
    public DecompressionStatus Decompress(in ReadOnlySequence<byte> compressed, IBufferWriter<byte> destination)
    {
        foreach (var segment in compressed)
        {
            var status = Decompress(segment.Span, destination);
            if (status != DecompressionStatus.Done)
            {
                return status;
            }
        }

        ThrowIfUnusable();
        return DecompressionStatus.Done;
    }

    /// <summary>
    /// Completes the message: appends the <c>00 00 FF FF</c> the sender removed (RFC 7692 section 7.2.2), writes the
    /// rest of the output, and prepares for the next message.
    /// </summary>
    public DecompressionStatus Finish(IBufferWriter<byte> destination)
    {
        ThrowIfUnusable();
        ArgumentNullException.ThrowIfNull(destination);
        if (_messageInput != 0 && !_streamEnded)
        {
            var status = Inflate(Trailer, destination);
            if (status != DecompressionStatus.Done)
            {
                return status;
            }
        }

        if (_streamEnded || PeerNoContextTakeover)
        {
            // An ended stream cannot continue; without context takeover the next message needs no window (R7692-7.2.2-b
            // applies only with context takeover), and releasing it here means an idle connection holds no inflater.
            _inflater?.Reset();
        }

        _messageLength = 0;
        _messageInput = 0;
        _messageConsumed = 0;
        _streamEnded = false;
        return DecompressionStatus.Done;
    }

    /// <summary>Inflates a whole compressed message: <see cref="Decompress(ReadOnlySpan{byte}, IBufferWriter{byte})"/> then <see cref="Finish"/>.</summary>
    public DecompressionStatus DecompressMessage(ReadOnlySpan<byte> payload, IBufferWriter<byte> destination)
    {
        var status = Decompress(payload, destination);
        return status == DecompressionStatus.Done ? Finish(destination) : status;
    }

    /// <summary>Releases the native inflate state.</summary>
    public void Dispose()
    {
        _disposed = true;
        _inflater?.Dispose();
        _inflater = null;
    }

    private DecompressionStatus Inflate(ReadOnlySpan<byte> input, IBufferWriter<byte> destination)
    {
        bool restarted = false;
        while (!_streamEnded)
        {
            // Room for one byte beyond the limit tells "exactly at the limit" (allowed, the limit is inclusive) from "over".
            long allowed = MaxMessageSize - _messageLength;
            var span = destination.GetSpan((int)Math.Min(allowed + 1, OutputChunk));
            if (span.Length > allowed + 1)
            {
                span = span[..(int)(allowed + 1)];
            }

            _inflater ??= _backend.CreateInflater(_peerWindowBits);
            var status = _inflater.Inflate(input, span, out int consumed, out int written);
            input = input[consumed..];
            _messageConsumed += consumed;
            if (written > allowed)
            {
                destination.Advance((int)allowed);
                _messageLength += allowed;
                return Fail(DecompressionStatus.MessageTooBig);
            }

            destination.Advance(written);
            _messageLength += written;
            switch (status)
            {
                case OperationStatus.DestinationTooSmall:
                    continue;

                case OperationStatus.NeedMoreData:
                    return DecompressionStatus.Done;

                case OperationStatus.Done when _messageConsumed == 0 && written == 0 && !restarted:
                    // The stream ended with a BFINAL block in an earlier message, which the stream-based backend learns
                    // only now that this message's bytes go unread. Nothing of this message was taken: start afresh.
                    _inflater.Reset();
                    restarted = true;
                    continue;

                case OperationStatus.Done:
                    // RFC 7692 section 7.2.3.4: the peer ended its stream inside this message; ignore what follows.
                    _streamEnded = true;
                    break;

                default:
                    return Fail(DecompressionStatus.InvalidData);
            }
        }

        return DecompressionStatus.Done;
    }

    private DecompressionStatus Fail(DecompressionStatus status)
    {
        _failure = status;
        _inflater?.Dispose();
        _inflater = null;
        return status;
    }

    private void ThrowIfUnusable()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (_failure != DecompressionStatus.Done)
        {
            throw new InvalidOperationException($"The decompressor already failed with {_failure}; the connection must be closed.");
        }
    }
}
