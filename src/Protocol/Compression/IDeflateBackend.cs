using System.Buffers;

namespace Shockwave.Protocol.Compression;

/// <summary>
/// The one seam between permessage-deflate and a raw DEFLATE (RFC 1951) implementation, so the codec can be swapped
/// (for instance for .NET 11's span-based <c>DeflateEncoder</c>/<c>DeflateDecoder</c>) without touching the framing rules,
/// which live in <see cref="PerMessageDeflateCompressor"/> and <see cref="PerMessageDeflateDecompressor"/>.
/// </summary>
/// <remarks>
/// Implementations: <see cref="DeflateStreamBackend"/> (the default, always present) and <see cref="SystemZlibBackend"/>
/// (opt-in, where the OS ships zlib). <see cref="DeflateBackends.Select"/> picks one with the fallback.
/// </remarks>
internal interface IDeflateBackend
{
    /// <summary>A short name for logs and docs.</summary>
    string Name { get; }

    /// <summary>
    /// Creates a raw deflater whose output never refers further back than 2^<paramref name="windowBits"/> bytes
    /// (RFC 7692 section 7.2.1). It must allocate native state lazily, on its first <see cref="IRawDeflater.CompressAndFlush"/>.
    /// </summary>
    IRawDeflater CreateDeflater(int compressionLevel, int windowBits);

    /// <summary>
    /// Creates a raw inflater for a peer that compresses with a window of at most 2^<paramref name="windowBits"/> bytes;
    /// an implementation may use a larger window. It must allocate native state lazily.
    /// </summary>
    IRawInflater CreateInflater(int windowBits);
}

/// <summary>A raw DEFLATE compressor with a persistent window (context takeover) that can be reset.</summary>
internal interface IRawDeflater : IDisposable
{
    /// <summary>
    /// Compresses <paramref name="input"/> and ends with a sync flush, so everything written so far is decodable and the
    /// output ends on a byte boundary with the empty stored block <c>00 00 FF FF</c>. When there is nothing to flush
    /// (no input since the last flush) the output may be empty.
    /// </summary>
    void CompressAndFlush(ReadOnlySpan<byte> input, IBufferWriter<byte> output);

    /// <summary>
    /// Announces that the next <see cref="CompressAndFlush"/>, from an empty window, carries a whole message of
    /// <paramref name="length"/> bytes and that <see cref="Reset"/> follows it (no context takeover). No back-reference
    /// can then reach further than the message itself, so the deflater may size its state to the message instead of
    /// to the negotiated window: the output is the same, the state to build and clear is a fraction of it.
    /// </summary>
    void PrepareSingleMessage(int length);

    /// <summary>Forgets the window so the next message starts empty; may release the native state until next use.</summary>
    void Reset();
}

/// <summary>A raw DEFLATE decompressor with a persistent window that can be reset.</summary>
internal interface IRawInflater : IDisposable
{
    /// <summary>
    /// Inflates from <paramref name="input"/> into <paramref name="output"/>. Returns
    /// <see cref="OperationStatus.DestinationTooSmall"/> when <paramref name="output"/> was filled (more may be pending: call
    /// again with the rest of the input), <see cref="OperationStatus.NeedMoreData"/> when all input was consumed and
    /// all output it yields was written, <see cref="OperationStatus.Done"/> when the DEFLATE stream ended (a block with
    /// BFINAL set) before the input did, and <see cref="OperationStatus.InvalidData"/> for data that is not DEFLATE.
    /// <paramref name="consumed"/> counts the input taken, which may include bytes buffered inside the implementation.
    /// </summary>
    OperationStatus Inflate(ReadOnlySpan<byte> input, Span<byte> output, out int consumed, out int written);

    /// <summary>Forgets the window and any ended stream so the next input starts a new stream; may release native state.</summary>
    void Reset();
}

/// <summary>Chooses the backend for a <see cref="PerMessageDeflateCodec"/>, falling back where the system zlib is missing.</summary>
internal static class DeflateBackends
{
    public static IDeflateBackend Select(PerMessageDeflateCodec codec, int memoryLevel) => codec switch
    {
        PerMessageDeflateCodec.SystemZlib => (IDeflateBackend?)SystemZlibBackend.TryCreate(memoryLevel) ?? DeflateStreamBackend.Instance,
        PerMessageDeflateCodec.Auto when SystemZlibBackend.TryCreate(memoryLevel) is { } zlib => new AutoDeflateBackend(zlib),
        _ => DeflateStreamBackend.Instance,
    };

    public static PerMessageDeflateCodec CodecOf(IDeflateBackend backend) => backend switch
    {
        SystemZlibBackend => PerMessageDeflateCodec.SystemZlib,
        AutoDeflateBackend => PerMessageDeflateCodec.Auto,
        _ => PerMessageDeflateCodec.Runtime,
    };
}
