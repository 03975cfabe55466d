using System.Buffers;

namespace Shockwave.Protocol.Compression;

/// <summary>
/// Compresses outgoing messages for one connection as RFC 7692 section 7.2.1 describes: raw DEFLATE, a sync flush at
/// the end of every message (and of every part of a message sent in parts), the final <c>00 00 FF FF</c> removed, and the
/// window kept from message to message unless no-context-takeover was agreed for this side.
/// </summary>
/// <remarks>
/// <para>
/// The caller frames the output: RSV1 on the first frame of the message only (section 6.1). Messages may also be sent
/// uncompressed at will (see <see cref="PerMessageDeflateOptions.ShouldCompress"/>); that does not disturb the window.
/// </para>
/// <para>
/// The native deflate state is allocated on the first message, not when the connection opens, and released by
/// <see cref="Dispose"/>; with no-context-takeover it is also released after every message, so an idle connection holds
/// none. Not thread-safe: one instance serves one connection's send side.
/// </para>
/// </remarks>
public sealed class PerMessageDeflateCompressor : IDisposable
{
    private readonly IDeflateBackend _backend;
    private readonly int _compressionLevel;
    private readonly TrailerHoldingWriter _writer = new();
    private IRawDeflater? _deflater;
    private bool _midMessage; // a part of a message went out and its end has not
    private bool _disposed;

    /// <summary>Creates the compressor for the endpoint playing <paramref name="role"/>.</summary>
    /// <param name="parameters">The agreed parameters; this side's window and context takeover are read for <paramref name="role"/>.</param>
    /// <param name="compressionLevel">0 (stored) to 9; the default is 6, zlib's default.</param>
    /// <param name="role">Which end this is. The default is <see cref="WebSocketRole.Server"/>.</param>
    /// <exception cref="ArgumentOutOfRangeException">A window outside 8..15 or a level outside 0..9.</exception>
    public PerMessageDeflateCompressor(
        PerMessageDeflateParameters parameters,
        int compressionLevel = PerMessageDeflateOptions.DefaultCompressionLevel,
        WebSocketRole role = WebSocketRole.Server)
        : this(parameters, compressionLevel, role, DeflateStreamBackend.Instance)
    {
    }

    /// <summary>
    /// Creates the compressor for the endpoint playing <paramref name="role"/> with the level, codec and memory level of
    /// <paramref name="options"/> (the system zlib codec falls back to the runtime codec where it is missing).
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">A window outside 8..15 or an option outside its range.</exception>
    public PerMessageDeflateCompressor(PerMessageDeflateParameters parameters, PerMessageDeflateOptions options, WebSocketRole role = WebSocketRole.Server)
        : this(parameters, ValidOptions(options).CompressionLevel, role, DeflateBackends.Select(options.Codec, options.MemoryLevel))
    {
    }

    internal PerMessageDeflateCompressor(PerMessageDeflateParameters parameters, int compressionLevel, WebSocketRole role, IDeflateBackend backend)
    {
        parameters.Validate();
        ArgumentOutOfRangeException.ThrowIfLessThan(compressionLevel, 0);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(compressionLevel, 9);
        _backend = backend;
        _compressionLevel = compressionLevel;
        WindowBits = parameters.LocalMaxWindowBits(role);
        NoContextTakeover = parameters.LocalNoContextTakeover(role);
    }

    /// <summary>The codec in use, after any fallback.</summary>
    public PerMessageDeflateCodec Codec => DeflateBackends.CodecOf(_backend);

    /// <summary>The largest window, as a base-2 logarithm, the output may refer back into (R7692-7.2.1-g).</summary>
    public int WindowBits { get; }

    /// <summary>Whether every message starts from an empty window (R7692-7.2.1-e).</summary>
    public bool NoContextTakeover { get; }

    /// <summary>Compresses a whole message into <paramref name="destination"/>; the caller sends it with RSV1 set.</summary>
    public void Compress(ReadOnlySpan<byte> payload, IBufferWriter<byte> destination) => CompressPart(payload, endOfMessage: true, destination);

    /// <summary>
    /// Compresses one part of a message sent in parts, writing everything needed to decode it so far: each part ends
    /// with a sync flush, which is kept for all but the last part (R7692-7.2.1-b). A part may produce no bytes (an empty
    /// non-final part), which the caller sends as an empty frame or skips.
    /// </summary>
    /// <param name="payload">The next bytes of the message; may be empty.</param>
    /// <param name="endOfMessage">True for the last part; its output ends without the <c>00 00 FF FF</c> trailer.</param>
    /// <param name="destination">Where the compressed bytes go.</param>
    public void CompressPart(ReadOnlySpan<byte> payload, bool endOfMessage, IBufferWriter<byte> destination)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        ArgumentNullException.ThrowIfNull(destination);

        _deflater ??= _backend.CreateDeflater(_compressionLevel, WindowBits);
        if (NoContextTakeover && endOfMessage && !_midMessage)
        {
            _deflater.PrepareSingleMessage(payload.Length);
        }

        _writer.Start(destination);
        try
        {
            _deflater.CompressAndFlush(payload, _writer);
            _midMessage = !endOfMessage;
            if (!endOfMessage)
            {
                _writer.ReleaseHeldBytes();
                return;
            }

            if (!_writer.TryDropSyncFlushTrailer())
            {
                // Nothing to flush since the last flush (an empty message, or an empty last part): zlib writes nothing,
                // yet the peer appends 00 00 FF FF and must find a whole empty stored block. A single 00 is the start
                // of one (BFINAL 0, BTYPE 00), the exact payload RFC 7692 section 7.2.3.6 gives for an empty message.
                destination.GetSpan(1)[0] = 0x00;
                destination.Advance(1);
            }

            if (NoContextTakeover)
            {
                // R7692-7.2.1-e: the next message starts with an empty window.
                _deflater.Reset();
            }
        }
        catch
        {
            // The destination failed mid-message (a completed pipe, say): what reached the peer is unknown, so start the
            // next message from an empty window, which any peer decodes. The connection is normally failing anyway.
            _midMessage = false;
            _deflater.Reset();
            throw;
        }
        finally
        {
            _writer.Stop();
        }
    }

    internal static PerMessageDeflateOptions ValidOptions(PerMessageDeflateOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        return options;
    }

    /// <summary>Releases the native deflate state.</summary>
    public void Dispose()
    {
        _disposed = true;
        _deflater?.Dispose();
        _deflater = null;
    }

    /// <summary>
    /// Passes compressed bytes to the destination but always keeps the last four back, so the sync-flush trailer can be
    /// dropped at the end of a message after the fact (an <see cref="IBufferWriter{T}"/> cannot take bytes back).
    /// </summary>
    internal sealed class TrailerHoldingWriter : IBufferWriter<byte>
    {
        private const int TrailerLength = 4;

        private readonly byte[] _held = new byte[TrailerLength];
        private IBufferWriter<byte>? _inner;
        private Memory<byte> _current;
        private int _heldCount;

        private static ReadOnlySpan<byte> SyncFlushTrailer => [0x00, 0x00, 0xFF, 0xFF];

        public void Start(IBufferWriter<byte> inner)
        {
            _inner = inner;
            _heldCount = 0;
        }

        public void Stop()
        {
            _inner = null;
            _current = default;
            _heldCount = 0;
        }

        public Memory<byte> GetMemory(int sizeHint = 0)
        {
            var inner = _inner ?? throw new InvalidOperationException("The writer is not attached.");

            // The held bytes go in front of the caller's space each time, so they precede whatever it writes.
            _current = inner.GetMemory(Math.Max(sizeHint, 1) + _heldCount);
            _held.AsSpan(0, _heldCount).CopyTo(_current.Span);
            return _current[_heldCount..];
        }

        public Span<byte> GetSpan(int sizeHint = 0) => GetMemory(sizeHint).Span;

        public void Advance(int count)
        {
            var inner = _inner ?? throw new InvalidOperationException("The writer is not attached.");
            ArgumentOutOfRangeException.ThrowIfNegative(count);
            if (count == 0)
            {
                return;
            }

            int total = _heldCount + count;
            ArgumentOutOfRangeException.ThrowIfGreaterThan(total, _current.Length, nameof(count));
            int keep = Math.Min(TrailerLength, total);
            _current.Span[(total - keep)..total].CopyTo(_held);
            _heldCount = keep;
            inner.Advance(total - keep);
            _current = default;
        }

        /// <summary>Writes the held bytes out: a non-final part keeps its whole flush (R7692-7.2.1-b).</summary>
        public void ReleaseHeldBytes()
        {
            if (_heldCount == 0)
            {
                return;
            }

            _inner!.Write(_held.AsSpan(0, _heldCount));
            _heldCount = 0;
        }

        /// <summary>
        /// Drops the held trailer (RFC 7692 section 7.2.1). False if nothing was written since the part began; throws if
        /// the output did not end with a sync flush, which would be a deflater bug the peer could not decode.
        /// </summary>
        public bool TryDropSyncFlushTrailer()
        {
            if (_heldCount == 0)
            {
                return false;
            }

            if (_heldCount != TrailerLength || !_held.AsSpan().SequenceEqual(SyncFlushTrailer))
            {
                throw new InvalidOperationException("The deflater's output did not end with a sync flush.");
            }

            _heldCount = 0;
            return true;
        }
    }
}
