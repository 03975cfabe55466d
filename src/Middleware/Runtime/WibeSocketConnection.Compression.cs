using System.Buffers;
using Shockwave.Protocol;
using Shockwave.Protocol.Compression;

namespace Shockwave.Runtime;

// permessage-deflate (RFC 7692) on the connection: deflate whole outgoing messages under the frame lock, and inflate
// incoming compressed messages piece by piece as they arrive, bounded by the message size limit and with text
// validated as UTF-8 on the inflated bytes, so a bad byte still fails as soon as it is inflated.
internal sealed partial class WibeSocketConnection
{
    private PerMessageDeflateCompressor? _compressor;
    private PerMessageDeflateDecompressor? _decompressor;
    private MessageAssembly? _compressScratch;
    private Utf8Validator _inflatedUtf8;
    private int _inflatedValidated;

    private void InitializeCompression()
    {
        if (_setup.Compression is { } parameters)
        {
            // The endpoint's options choose the codec (runtime or system zlib), its level and memory level.
            var options = _setup.CompressionOptions ?? _options.Compression;
            _compressor = new PerMessageDeflateCompressor(parameters, options, WebSocketRole.Server);
            _decompressor = new PerMessageDeflateDecompressor(parameters, options, _options.MaxMessageSize, WebSocketRole.Server);
        }
    }

    private void DisposeCompression()
    {
        _compressor?.Dispose();
        _decompressor?.Dispose();
        _compressScratch?.Dispose();
    }

    private bool ShouldCompress(long length) =>
        _compressor is not null && (_setup.CompressionOptions?.ShouldCompress(length) ?? true);

    // Called with the frame lock held; the result is valid until ReleaseCompressScratch.
    private ReadOnlySequence<byte> Compress(ReadOnlySequence<byte> payload)
    {
        var scratch = _compressScratch ??= new MessageAssembly(long.MaxValue);
        if (payload.IsSingleSegment)
        {
            _compressor!.Compress(payload.FirstSpan, scratch);
        }
        else
        {
            var remaining = payload;
            while (!remaining.IsEmpty)
            {
                var first = remaining.First.Span;
                remaining = remaining.Slice(first.Length);
                _compressor!.CompressPart(first, endOfMessage: remaining.IsEmpty, scratch);
            }
        }

        return scratch.GetPayload();
    }

    // The scratch buffer goes back to the pool after each message, so an idle connection holds none.
    private void ReleaseCompressScratch() => _compressScratch?.Dispose();

    private bool InflateSegment(in FrameSegment segment)
    {
        if (_assembly is null)
        {
            _assembly = new MessageAssembly(_options.MaxMessageSize);
            _inflatedUtf8.Reset();
            _inflatedValidated = 0;
        }

        var status = _decompressor!.Decompress(segment.Payload, _assembly);
        if (status == DecompressionStatus.Done && segment.IsMessageEnd)
        {
            status = _decompressor.Finish(_assembly);
        }

        if (status != DecompressionStatus.Done)
        {
            FailConnection(status == DecompressionStatus.MessageTooBig ? Errors.MessageTooBig : Errors.InvalidCompressedData);
            return false;
        }

        bool text = segment.Opcode == WebSocketOpcode.Text;
        if (text && !ValidateInflatedText(segment.IsMessageEnd))
        {
            FailConnection(Errors.InvalidUtf8);
            return false;
        }

        if (segment.IsMessageEnd)
        {
            var owned = _assembly;
            _assembly = null;
            Enqueue(new PendingMessage(ToMessageType(segment.Opcode), owned.GetPayload(), owned, -1));
        }

        return true;
    }

    private bool ValidateInflatedText(bool messageEnd)
    {
        var fresh = _assembly!.WrittenSpan[_inflatedValidated..];
        _inflatedValidated += fresh.Length;
        return _inflatedUtf8.Append(fresh) && (!messageEnd || _inflatedUtf8.Complete());
    }
}
