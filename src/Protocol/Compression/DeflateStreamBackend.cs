using System.Buffers;
using System.IO.Compression;

namespace Shockwave.Protocol.Compression;

/// <summary>
/// Raw DEFLATE through the public <see cref="DeflateStream"/>: the runtime's bundled zlib-ng, present on every platform the
/// runtime supports and the fastest deflate on hand (it compresses 1 KiB JSON messages at level 6 about a third faster
/// than the system zlib 1.2.13; see <c>docs/compression.md</c>).
/// </summary>
/// <remarks>
/// <para>What the public API cannot do, and how each gap is covered (platform notes, section 4):</para>
/// <list type="bullet">
/// <item>Its window is fixed at 2^15. A window below 15 is honoured by the run-length strategy, whose only match distance
/// is 1 and therefore legal for every window (RFC 7692 section 7.2.1 limits distances, not the encoder's memory).
/// The price is ratio: on JSON the output is about three times as large as with the default strategy.</item>
/// <item>It cannot reset: no-context-takeover disposes the stream after the message and creates a new one on the next,
/// which also means an idle connection holds no deflate state.</item>
/// <item>It is a pull stream: input reaches the inflater through a feed stream whose source is the caller's span,
/// pinned only for the duration of the call, and output is inflated straight into the caller's span. Compressed output
/// makes one copy, from the stream's 8 KiB buffer into the caller's <see cref="IBufferWriter{T}"/>.</item>
/// </list>
/// </remarks>
internal sealed class DeflateStreamBackend : IDeflateBackend
{
    public static readonly DeflateStreamBackend Instance = new();

    private DeflateStreamBackend()
    {
    }

    public string Name => "DeflateStream";

    public IRawDeflater CreateDeflater(int compressionLevel, int windowBits) => new StreamDeflater(compressionLevel, windowBits);

    // The stream's window is always 2^15, which decodes every smaller window too.
    public IRawInflater CreateInflater(int windowBits) => new StreamInflater();

    private sealed class StreamDeflater(int compressionLevel, int windowBits) : IRawDeflater
    {
        // The stream's window is always 2^15. Under a smaller negotiated window, RLE (literals and matches at distance 1
        // only) is valid for any window of 2^8 or more; full matching is valid for a lone message that fits the window.
        private readonly ZLibCompressionOptions _fullMatching = new()
        {
            CompressionLevel = compressionLevel,
            CompressionStrategy = ZLibCompressionStrategy.Default,
        };

        private readonly ZLibCompressionOptions _windowSafe = new()
        {
            CompressionLevel = compressionLevel,
            CompressionStrategy = windowBits < PerMessageDeflateParameters.MaxWindowBits
                ? ZLibCompressionStrategy.RunLengthEncoding
                : ZLibCompressionStrategy.Default,
        };

        private readonly BufferWriterStream _sink = new();
        private DeflateStream? _stream;
        private bool _nextFitsWindow;

        public void PrepareSingleMessage(int length) => _nextFitsWindow = length <= 1 << windowBits;

        public void CompressAndFlush(ReadOnlySpan<byte> input, IBufferWriter<byte> output)
        {
            _sink.Destination = output;
            try
            {
                _stream ??= new DeflateStream(_sink, _nextFitsWindow ? _fullMatching : _windowSafe, leaveOpen: true);
                _nextFitsWindow = false;
                _stream.Write(input);

                // DeflateStream.Flush is Z_SYNC_FLUSH (platform notes 4.1 b). After a flush with no new input zlib has
                // nothing to say and writes nothing; the compressor covers that case.
                _stream.Flush();
            }
            finally
            {
                _sink.Destination = null;
            }
        }

        public void Reset()
        {
            // Dispose runs Z_FINISH into the sink, which discards it while no destination is set.
            _stream?.Dispose();
            _stream = null;
        }

        public void Dispose() => Reset();
    }

    private sealed class StreamInflater : IRawInflater
    {
        private readonly SpanFeedStream _feed = new();
        private DeflateStream? _stream;

        public unsafe OperationStatus Inflate(ReadOnlySpan<byte> input, Span<byte> output, out int consumed, out int written)
        {
            // The window is fixed at 2^15, which decodes any peer window (RFC 7692 section 7.2.2, R7692-7.2.2-e).
            _stream ??= new DeflateStream(_feed, CompressionMode.Decompress, leaveOpen: true);
            written = 0;
            try
            {
                // DeflateStream pulls its input through a Stream, which cannot hold a span; the feed reads through a
                // pointer that is valid only inside this fixed block and is detached before it ends. Bytes the stream
                // has already copied into its own buffer stay there, so nothing refers to the span after return.
                fixed (byte* source = input)
                {
                    _feed.Attach(source, input.Length);
                    try
                    {
                        while (written < output.Length)
                        {
                            int n = _stream.Read(output[written..]);
                            if (n == 0)
                            {
                                break;
                            }

                            written += n;
                        }
                    }
                    finally
                    {
                        consumed = _feed.Detach();
                    }
                }
            }
            catch (InvalidDataException)
            {
                consumed = input.Length;
                Reset();
                return OperationStatus.InvalidData;
            }

            if (written == output.Length && output.Length != 0)
            {
                return OperationStatus.DestinationTooSmall;
            }

            // A Read that returned 0 while the feed still had bytes means the inflater stopped asking for input: the
            // DEFLATE stream ended with a BFINAL block. With the feed drained the two cases look alike; the decompressor
            // sorts that out when the next message's bytes go unread.
            return consumed < input.Length ? OperationStatus.Done : OperationStatus.NeedMoreData;
        }

        public void Reset()
        {
            _stream?.Dispose();
            _stream = null;
        }

        public void Dispose() => Reset();
    }
}
