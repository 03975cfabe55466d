namespace Shockwave.Protocol;

/// <summary>
/// What a <see cref="WebSocketFrameReader"/> accepts from its peer. Every limit is inclusive, and every breach
/// fails the connection with 1009 (RFC 6455 section 7.4.1): the reader never buffers or counts past a limit.
/// </summary>
public sealed record FrameReaderOptions
{
    /// <summary>The default of <see cref="MaxFramePayloadLength"/>: 16 MiB. The one source of this default in the product.</summary>
    public const long DefaultMaxFramePayloadLength = 16 * 1024 * 1024;

    /// <summary>The default of <see cref="MaxMessageSize"/>: 64 MiB.</summary>
    public const long DefaultMaxMessageSize = 64 * 1024 * 1024;

    /// <summary>The default of <see cref="MaxFragmentsPerMessage"/>: 128.</summary>
    public const int DefaultMaxFragmentsPerMessage = 128;

    /// <summary>The largest payload of one frame. The default is 16 MiB.</summary>
    public long MaxFramePayloadLength { get; init; } = DefaultMaxFramePayloadLength;

    /// <summary>
    /// The largest message, summed over its fragments. The default is 64 MiB. For a compressed message this bounds
    /// the compressed bytes (with a little slack for deflate's worst-case expansion); the inflater bounds the output.
    /// </summary>
    public long MaxMessageSize { get; init; } = DefaultMaxMessageSize;

    /// <summary>The most frames one data message may span. The default is 128.</summary>
    public int MaxFragmentsPerMessage { get; init; } = DefaultMaxFragmentsPerMessage;

    /// <summary>
    /// True when an extension that gives RSV1 a meaning (permessage-deflate) was negotiated; otherwise RSV1 is a
    /// protocol error (RFC 6455 section 5.2).
    /// </summary>
    public bool AllowCompressedMessages { get; init; }
}
