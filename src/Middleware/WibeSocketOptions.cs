using Shockwave.Protocol;
using Shockwave.Runtime;
using Shockwave.Protocol.Compression;

namespace Shockwave;

/// <summary>
/// Server-wide WibeSocket settings, bound from configuration (section <c>WibeSocket</c> by convention) and validated at
/// startup. Every limit is inclusive; a peer that exceeds one gets the close code named beside it.
/// Endpoints may override any of them (<c>MapWibeSocket(..., configure)</c>).
/// </summary>
public sealed class WibeSocketOptions
{
    private List<string> _allowedOrigins = [];
    private List<string> _subProtocols = [];
    private long? _maxFramePayloadLength;
    private ConnectionLimits? _limits;

    /// <summary>
    /// The largest frame payload accepted; a larger frame closes with 1009. Unset, it follows
    /// <see cref="MaxMessageSize"/>: 16 MiB, or the message limit when that is lower, so lowering the message limit
    /// alone works. Set explicitly above <see cref="MaxMessageSize"/>, it fails validation at startup.
    /// </summary>
    public long MaxFramePayloadLength
    {
        get => _maxFramePayloadLength ?? Math.Min(FrameReaderOptions.DefaultMaxFramePayloadLength, MaxMessageSize);
        // The configuration binder writes back what it read from every property of a bound section, keys present or
        // not: writing the value it follows would pin it, and a later MaxMessageSize in code would then fail
        // validation. Setting the value it already has leaves it following.
        set => _maxFramePayloadLength = _maxFramePayloadLength is null && value == MaxFramePayloadLength ? null : value;
    }

    /// <summary>True when <see cref="MaxFramePayloadLength"/> was set rather than following the message limit.</summary>
    internal bool MaxFramePayloadLengthIsExplicit => _maxFramePayloadLength.HasValue;

    /// <summary>The largest message accepted, after inflation. The default is 64 MiB; a larger message closes with 1009.</summary>
    public long MaxMessageSize { get; set; } = FrameReaderOptions.DefaultMaxMessageSize;

    /// <summary>The most frames one message may span. The default is 128; more closes with 1009.</summary>
    public int MaxFragmentsPerMessage { get; set; } = FrameReaderOptions.DefaultMaxFragmentsPerMessage;

    /// <summary>
    /// How many received bytes the runtime reads ahead of a handler that has not asked for the next message.
    /// Pings and closes keep being answered within this window; past it the runtime stops reading and TCP
    /// back-pressure reaches the peer. The default is 1 MiB. A message being assembled may exceed it up to
    /// <see cref="MaxMessageSize"/>.
    /// </summary>
    public long MaxReadAheadBytes { get; set; } = 1024 * 1024;

    /// <summary>
    /// How often to ping an otherwise silent peer. The default is 20 seconds, under the 30-60 second idle timeouts
    /// of common load balancers and ingresses. <see cref="TimeSpan.Zero"/> disables keep-alive pings.
    /// </summary>
    public TimeSpan KeepAliveInterval { get; set; } = TimeSpan.FromSeconds(20);

    /// <summary>
    /// How long to wait for any frame after a keep-alive ping before the connection is considered dead and
    /// aborted (the close frame could not reach a dead peer). The default is 20 seconds.
    /// </summary>
    public TimeSpan KeepAliveTimeout { get; set; } = TimeSpan.FromSeconds(20);

    /// <summary>
    /// How long to wait for the peer's close frame after ours (RFC 6455 section 7.1.1 lets the server close TCP
    /// first). The default is 5 seconds; then the connection is aborted.
    /// </summary>
    public TimeSpan CloseTimeout { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>
    /// Origins allowed to connect (for example <c>https://chat.example.com</c>). Empty, the default, allows any
    /// origin, except on endpoints that require authorization: those refuse cross-origin requests with 403 unless
    /// listed here, because browsers send cookies with WebSocket requests and apply no CORS to them (cross-site
    /// WebSocket hijacking). <c>RequireCors()</c> does not protect WebSocket endpoints; this list does.
    /// </summary>
    public IList<string> AllowedOrigins => _allowedOrigins;

    /// <summary>
    /// Subprotocols the server speaks, most preferred first. The server picks its most preferred one the client
    /// offered; with none in common the connection opens without a subprotocol (RFC 6455 section 4.2.2).
    /// </summary>
    public IList<string> SubProtocols => _subProtocols;

    /// <summary>
    /// The send budget of each connection: the most bytes of broadcast, group and user messages queued for it and not yet
    /// taken by its transport. The default is 1 MiB. Past it, <see cref="SlowConsumerPolicy"/> applies; a broadcast never
    /// waits for one slow connection. A connection's own <c>SendAsync</c> is not queued: it waits (back-pressure).
    /// </summary>
    public long SendQueueLimit { get; set; } = 1024 * 1024;

    /// <summary>
    /// What a connection past its <see cref="SendQueueLimit"/> gets. The default, <see cref="WibeSocketSlowConsumerPolicy.Close"/>,
    /// closes it with 1013 (Try Again Later) so the client reconnects and resyncs rather than silently missing messages.
    /// </summary>
    public WibeSocketSlowConsumerPolicy SlowConsumerPolicy { get; set; } = WibeSocketSlowConsumerPolicy.Close;

    /// <summary>Graceful drain on shutdown (on by default) and on demand; server-wide (endpoint overrides are ignored).</summary>
    public WibeSocketDrainOptions Drain { get; private set; } = new();

    /// <summary>Per-connection limits on what a peer sends (messages and bytes per second). Off by default.</summary>
    public WibeSocketInboundRateLimit InboundRateLimit { get; private set; } = new();

    /// <summary>The raw Kestrel listener's budget for the upgrade request head. The default is 8 KiB; more gets 431.</summary>
    public int MaxRequestHeadSize { get; set; } = 8 * 1024;

    /// <summary>The raw Kestrel listener's deadline for a complete upgrade request. The default is 10 seconds.</summary>
    public TimeSpan HandshakeTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>
    /// permessage-deflate (RFC 7692). Off by default, as in ASP.NET Core: it costs CPU and memory per connection,
    /// and over TLS compressing secrets together with attacker-chosen text can leak them (CRIME/BREACH).
    /// </summary>
    public PerMessageDeflateOptions Compression { get; private set; } = new();

    /// <summary>Copies these options, so an endpoint can override some without touching the server-wide ones.</summary>
    public WibeSocketOptions Clone()
    {
        // MemberwiseClone shares the list instances; give the clone its own.
        var clone = (WibeSocketOptions)MemberwiseClone();
        clone._allowedOrigins = [.. _allowedOrigins];
        clone._subProtocols = [.. _subProtocols];
        clone.Compression = Compression with { };
        clone.InboundRateLimit = InboundRateLimit.Clone();
        clone.Drain = Drain.Clone();
        clone._limits = null;
        return clone;
    }

    // Built once per options instance (an endpoint's options are fixed once it serves), not once per connection.
    internal ConnectionLimits ToConnectionLimits() => _limits ??= new ConnectionLimits
    {
        Reader = CreateReaderOptions(allowCompressedMessages: false),
        CompressedReader = CreateReaderOptions(allowCompressedMessages: true),
        MaxMessageSize = MaxMessageSize,
        MaxReadAheadBytes = MaxReadAheadBytes,
        KeepAliveInterval = KeepAliveInterval,
        KeepAliveTimeout = KeepAliveTimeout,
        CloseTimeout = CloseTimeout,
        MaxQueuedBytes = SendQueueLimit,
        CloseWhenOverBudget = SlowConsumerPolicy == WibeSocketSlowConsumerPolicy.Close,
    };

    private FrameReaderOptions CreateReaderOptions(bool allowCompressedMessages) => new()
    {
        MaxFramePayloadLength = MaxFramePayloadLength,
        MaxMessageSize = MaxMessageSize,
        MaxFragmentsPerMessage = MaxFragmentsPerMessage,
        AllowCompressedMessages = allowCompressedMessages,
    };
}
