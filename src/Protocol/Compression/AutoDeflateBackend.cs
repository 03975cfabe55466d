using System.Buffers;

namespace Shockwave.Protocol.Compression;

/// <summary>
/// <see cref="PerMessageDeflateCodec.Auto"/>: each job to the codec that does it best. Compression is the runtime's
/// zlib-ng (a third faster than zlib 1.2), except for a small message compressed alone (no context takeover): through
/// <see cref="System.IO.Compression.DeflateStream"/> zlib-ng must build and clear a full 2^15-window state for every
/// such message, which for a few KiB costs more than the compression, so the system zlib compresses it from a state
/// sized to the message. Inflation is the system zlib's: as fast as zlib-ng's, with a window of the peer's agreed size,
/// span in and span out, and a reset instead of a new stream per message when the peer drops its context.
/// </summary>
internal sealed class AutoDeflateBackend(SystemZlibBackend zlib) : IDeflateBackend
{
    // Messages whose sized zlib window is at most 2^12 (4 KiB less zlib's 262-byte lookahead): about 20 KiB of state
    // at most, small enough to come from and go back to the allocator's free lists without touching the kernel.
    private const int MaxSizedMessageLength = (1 << 12) - 262;

    public string Name => "auto (" + DeflateStreamBackend.Instance.Name + ", " + zlib.Name + " for inflation and small lone messages)";

    public IRawDeflater CreateDeflater(int compressionLevel, int windowBits) =>
        new AutoDeflater(
            DeflateStreamBackend.Instance.CreateDeflater(compressionLevel, windowBits),
            zlib.CreateDeflater(compressionLevel, windowBits));

    public IRawInflater CreateInflater(int windowBits) => zlib.CreateInflater(windowBits);

    private sealed class AutoDeflater(IRawDeflater runtime, IRawDeflater sized) : IRawDeflater
    {
        private IRawDeflater? _forNextMessage;

        public void PrepareSingleMessage(int length)
        {
            _forNextMessage = length <= MaxSizedMessageLength ? sized : runtime;
            _forNextMessage.PrepareSingleMessage(length);
        }

        public void CompressAndFlush(ReadOnlySpan<byte> input, IBufferWriter<byte> output)
        {
            // A prepared lone message is compressed in this one call; everything else (context takeover, streamed parts)
            // goes through the runtime codec, whose window persists between calls.
            var deflater = _forNextMessage ?? runtime;
            _forNextMessage = null;
            deflater.CompressAndFlush(input, output);
        }

        public void Reset()
        {
            _forNextMessage = null;
            runtime.Reset();
            sized.Reset();
        }

        public void Dispose()
        {
            runtime.Dispose();
            sized.Dispose();
        }
    }
}
