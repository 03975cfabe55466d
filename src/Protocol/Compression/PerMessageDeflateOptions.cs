namespace Shockwave.Protocol.Compression;

/// <summary>
/// The server's permessage-deflate policy (RFC 7692): whether to accept the extension and which parameters to
/// answer with. Validated once by <see cref="Validate"/> (the negotiator calls it when created).
/// </summary>
/// <remarks>
/// <para>
/// A client reads the same options with their meaning kept: <see cref="PerMessageDeflateClientOffer.FromOptions"/> turns
/// the server-side settings into requests to the server and the client-side ones into the client's own limits.
/// </para>
/// <para>
/// Every legal offer is accepted, including <c>server_max_window_bits</c> from 8 to 14: see <c>docs/compression.md</c>
/// for what a window smaller than 15 costs with the codec in use.
/// </para>
/// <para>
/// Memory per connection: with the defaults an idle connection keeps its compressor and inflater, about 257 KiB
/// resident after a few messages (the stock ASP.NET Core stack: 248 KiB). <see cref="Codec"/> = <see cref="PerMessageDeflateCodec.SystemZlib"/>
/// halves that, and with <see cref="MemoryLevel"/> 4 and 12-bit windows brings it to about 44 KiB with context takeover
/// kept. <see cref="ServerNoContextTakeover"/> and <see cref="RequireClientNoContextTakeover"/> together let an idle
/// connection hold no codec state at all, at the price of a new deflate state per message and a worse ratio on small
/// messages. Figures: <c>docs/compression.md</c>.
/// </para>
/// </remarks>
public sealed record PerMessageDeflateOptions
{
    /// <summary>The zlib default level, which the stock ASP.NET Core stack also uses.</summary>
    public const int DefaultCompressionLevel = 6;

    /// <summary>
    /// Whether permessage-deflate offers are accepted at all. The default is <see langword="false"/>: compression costs
    /// CPU and memory per connection, and over TLS mixing secrets with attacker-chosen text in one compressed message can
    /// leak the secrets (CRIME/BREACH), so it is opt-in, as in ASP.NET Core.
    /// </summary>
    public bool Enabled { get; set; }

    /// <summary>
    /// The deflate level, 0 (stored, no compression) to 9 (smallest output, slowest). The default is 6, zlib's default
    /// and the stock stack's, the usual best trade of speed for ratio.
    /// </summary>
    public int CompressionLevel { get; set; } = DefaultCompressionLevel;

    /// <summary>
    /// The largest LZ77 window, as a base-2 logarithm from 8 to 15, the server compresses with. The default is 15 (32 KiB),
    /// the best ratio. A smaller value is announced as <c>server_max_window_bits</c> even when the client did not ask
    /// (RFC 7692 section 7.1.2.1 allows it); a client's smaller <c>server_max_window_bits</c> always wins.
    /// </summary>
    public int ServerMaxWindowBits { get; set; } = 15;

    /// <summary>
    /// Whether the server compresses every message with an empty window and says so with <c>server_no_context_takeover</c>
    /// (RFC 7692 section 7.1.1.1). The default is <see langword="false"/>: keeping the window across messages is what
    /// makes small, similar messages (chat, JSON updates) compress well. When <see langword="true"/>, the compressor's state
    /// is released after each message, so an idle connection holds none. A client's <c>server_no_context_takeover</c> is
    /// honoured either way.
    /// </summary>
    public bool ServerNoContextTakeover { get; set; }

    /// <summary>
    /// Whether the server answers every accepted offer with <c>client_no_context_takeover</c>, which every client must
    /// support (RFC 7692 section 7.1.1.2), so clients compress each message with an empty window and the server can drop
    /// its inflater between messages. The default is <see langword="false"/>: it worsens the ratio of client messages.
    /// A client's own <c>client_no_context_takeover</c> hint is accepted either way.
    /// </summary>
    public bool RequireClientNoContextTakeover { get; set; }

    /// <summary>
    /// The <c>client_max_window_bits</c> (8 to 15) the server answers with when the client offered that parameter, with
    /// or without a value; the answer is never larger than the client's own value. The default is <see langword="null"/>:
    /// a client's value is echoed and a bare parameter is left unanswered, so the client may use 15. The parameter is
    /// never sent to a client that did not offer it (RFC 7692 section 7.1.2.2).
    /// </summary>
    public int? ClientMaxWindowBits { get; set; }

    /// <summary>
    /// Messages shorter than this many bytes are sent uncompressed (RSV1 clear), which RFC 7692 section 6.1 allows per
    /// message. The default is 32: below that, deflate's block header and the 00-byte tail rarely pay for themselves and
    /// the CPU is wasted. 0 compresses every message.
    /// </summary>
    public int MinMessageSizeToCompress { get; set; } = 32;

    /// <summary>
    /// Which DEFLATE implementation compresses and inflates. The default is <see cref="PerMessageDeflateCodec.Auto"/>:
    /// the runtime's bundled zlib-ng compresses (the fastest, present everywhere), the system zlib inflates and
    /// compresses small messages sent without context takeover, where a message-sized state beats a full one per message.
    /// <see cref="PerMessageDeflateCodec.SystemZlib"/> trades speed for memory per connection and true small windows.
    /// Both fall back to the runtime codec where the operating system has no zlib.
    /// </summary>
    public PerMessageDeflateCodec Codec { get; set; } = PerMessageDeflateCodec.Auto;

    /// <summary>
    /// zlib's memLevel, 1 to 9, for <see cref="PerMessageDeflateCodec.SystemZlib"/> only: the compressor's hash table and
    /// symbol buffer grow as 2^(memLevel+9) bytes each. The default is 8, zlib's default (the runtime codec always uses 8).
    /// Lower values save memory per connection and cost some ratio and speed; see <c>docs/compression.md</c>.
    /// </summary>
    public int MemoryLevel { get; set; } = 8;

    /// <summary>True if a message of <paramref name="length"/> bytes should be compressed under <see cref="MinMessageSizeToCompress"/>.</summary>
    public bool ShouldCompress(long length) => length >= MinMessageSizeToCompress;

    /// <summary>Throws <see cref="ArgumentOutOfRangeException"/> for a value outside its documented range.</summary>
    public void Validate()
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(CompressionLevel, 0, nameof(CompressionLevel));
        ArgumentOutOfRangeException.ThrowIfGreaterThan(CompressionLevel, 9, nameof(CompressionLevel));
        ValidateWindowBits(ServerMaxWindowBits, nameof(ServerMaxWindowBits));
        if (ClientMaxWindowBits is int clientBits)
        {
            ValidateWindowBits(clientBits, nameof(ClientMaxWindowBits));
        }

        ArgumentOutOfRangeException.ThrowIfNegative(MinMessageSizeToCompress, nameof(MinMessageSizeToCompress));
        ArgumentOutOfRangeException.ThrowIfLessThan(MemoryLevel, 1, nameof(MemoryLevel));
        ArgumentOutOfRangeException.ThrowIfGreaterThan(MemoryLevel, 9, nameof(MemoryLevel));
        if (!Enum.IsDefined(Codec))
        {
            throw new ArgumentOutOfRangeException(nameof(Codec), Codec, "Unknown codec.");
        }
    }

    internal static void ValidateWindowBits(int bits, string name)
    {
        // RFC 7692 section 7.1.2: window bits are 8..15.
        ArgumentOutOfRangeException.ThrowIfLessThan(bits, PerMessageDeflateParameters.MinWindowBits, name);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(bits, PerMessageDeflateParameters.MaxWindowBits, name);
    }
}

/// <summary>The DEFLATE implementation behind permessage-deflate.</summary>
public enum PerMessageDeflateCodec
{
    /// <summary>
    /// The runtime's bundled zlib-ng through <see cref="System.IO.Compression.DeflateStream"/>: always available and the
    /// fastest. Its window is fixed at 2^15, so a smaller <c>server_max_window_bits</c> is honoured with the run-length
    /// strategy, at a large cost in ratio; its memLevel is fixed at 8.
    /// </summary>
    Runtime,

    /// <summary>
    /// The operating system's zlib (<c>libz.so.1</c>, <c>libz.1.dylib</c>): true windows of 2^9 to 2^15 (2^8 is served
    /// by 2^9, whose matches never reach past 250 bytes), a configurable <see cref="PerMessageDeflateOptions.MemoryLevel"/>,
    /// an inflater sized to the peer's window, and half the memory per connection or less; it compresses about a third
    /// slower than the runtime codec. Where no system zlib exists (Windows, minimal and distroless images) the runtime codec is
    /// used instead, with identical wire behaviour apart from ratio at small server windows.
    /// </summary>
    SystemZlib,

    /// <summary>
    /// The default: compression by the runtime's zlib-ng (<see cref="Runtime"/>), except that a message of up to about
    /// 3.75 KiB compressed alone (<c>server_no_context_takeover</c>) is compressed by the system zlib from a state sized
    /// to the message, where the runtime codec would build and clear a full 2^15-window state for each one; inflation
    /// by the system zlib (as fast, a window of the peer's size). Same wire behaviour as <see cref="Runtime"/>; without
    /// a system zlib it is <see cref="Runtime"/>.
    /// </summary>
    Auto,
}
