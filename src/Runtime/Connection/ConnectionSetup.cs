using System.IO.Pipelines;
using System.Net;
using System.Security.Claims;
using Shockwave.Protocol;
using Shockwave.Protocol.Compression;

namespace Shockwave.Runtime;

/// <summary>
/// Everything the connection runtime needs, from whichever host accepted or opened the connection (endpoint routing,
/// the raw Kestrel listener, the test client, the client). The runtime depends on this and on the transport pipe only;
/// a host's own context travels as an opaque <see cref="HostContext"/> the runtime never looks into.
/// </summary>
internal sealed class ConnectionSetup
{
    public required IDuplexPipe Transport { get; init; }

    public required string ConnectionId { get; init; }

    public required ConnectionLimits Limits { get; init; }

    public required WibeSocketRuntime Runtime { get; init; }

    /// <summary>Which end of the connection this is: a client masks what it sends and expects unmasked frames.</summary>
    public WebSocketRole Role { get; init; } = WebSocketRole.Server;

    /// <summary>A short name of the transport path for logs: <c>kestrel-transport</c>, <c>upgrade-stream</c>, <c>raw-listener</c>, <c>client</c>.</summary>
    public required string TransportName { get; init; }

    /// <summary>The endpoint's name for metric tags (its route pattern on the server); shared, never per connection.</summary>
    public string EndpointName { get; init; } = "client";

    public ClaimsPrincipal User { get; init; } = new(new ClaimsIdentity());

    public string? SubProtocol { get; init; }

    public EndPoint? RemoteEndPoint { get; init; }

    /// <summary>Builds the remote end point from <see cref="HostContext"/> on demand, so an idle connection need not carry it.</summary>
    public Func<object, EndPoint?>? ResolveRemoteEndPoint { get; init; }

    /// <summary>The host's own context (the upgrade request's <c>HttpContext</c> on the endpoint-routing path), or null.</summary>
    public object? HostContext { get; init; }

    /// <summary>The negotiated permessage-deflate parameters, or null when compression is off for this connection.</summary>
    public PerMessageDeflateParameters? Compression { get; init; }

    /// <summary>The compression settings of the endpoint (codec, level, minimum size), used when <see cref="Compression"/> is set.</summary>
    public PerMessageDeflateOptions? CompressionOptions { get; init; }

    /// <summary>
    /// True when the transport is Kestrel's own connection pipe: Kestrel cancels its pending read when the server
    /// stops (platform notes 1.3), which must be told apart from the runtime's own wake-ups.
    /// </summary>
    public bool CancelledReadMeansShutdown { get; init; }

    /// <summary>
    /// True when the runtime owns the transport pipes and must complete them when the connection ends (pipes over an
    /// upgrade stream); false for Kestrel's connection pipes, which Kestrel completes when the request ends.
    /// </summary>
    public bool OwnsTransport { get; init; }

    /// <summary>Meters what the peer sends (inbound rate limits); null, the default, meters nothing and costs nothing.</summary>
    public IInboundLimiter? InboundLimiter { get; init; }

    /// <summary>Told when the connection opens and when it has ended (the server's connection registry); shared by an endpoint's connections.</summary>
    public IConnectionObserver? Observer { get; init; }

    /// <summary>Tears the underlying connection down (ConnectionContext.Abort, a socket's close).</summary>
    public Action? AbortTransport { get; init; }

    /// <summary>Tears the connection down through <see cref="HostContext"/> (HttpContext.Abort): a static delegate, so an idle connection carries no closure.</summary>
    public Action<object>? AbortHost { get; init; }
}

/// <summary>
/// The limits and timers of one connection, built once per endpoint (or client) configuration and shared by its
/// connections.
/// </summary>
internal sealed class ConnectionLimits
{
    /// <summary>The frame reader's limits when permessage-deflate was not negotiated.</summary>
    public required FrameReaderOptions Reader { get; init; }

    /// <summary>The frame reader's limits when it was (RSV1 allowed).</summary>
    public required FrameReaderOptions CompressedReader { get; init; }

    public required long MaxMessageSize { get; init; }

    public required long MaxReadAheadBytes { get; init; }

    public required TimeSpan KeepAliveInterval { get; init; }

    public required TimeSpan KeepAliveTimeout { get; init; }

    public required TimeSpan CloseTimeout { get; init; }

    /// <summary>The send budget: the most bytes of broadcast frames queued for the connection before the slow-consumer policy applies.</summary>
    public long MaxQueuedBytes { get; init; } = long.MaxValue;

    /// <summary>True to close a connection past its send budget with 1013; false to drop the message for it.</summary>
    public bool CloseWhenOverBudget { get; init; } = true;

    /// <summary>
    /// A client's limits: it accepts what a server may legitimately send up to its message limit, in frames of any size
    /// below it and any number of fragments.
    /// </summary>
    public static ConnectionLimits ForClient(long maxMessageSize, long maxReadAheadBytes, TimeSpan keepAliveInterval, TimeSpan keepAliveTimeout, TimeSpan closeTimeout)
    {
        var reader = new FrameReaderOptions
        {
            MaxFramePayloadLength = maxMessageSize,
            MaxMessageSize = maxMessageSize,
            MaxFragmentsPerMessage = int.MaxValue,
        };
        return new ConnectionLimits
        {
            Reader = reader,
            CompressedReader = reader with { AllowCompressedMessages = true },
            MaxMessageSize = maxMessageSize,
            MaxReadAheadBytes = maxReadAheadBytes,
            KeepAliveInterval = keepAliveInterval,
            KeepAliveTimeout = keepAliveTimeout,
            CloseTimeout = closeTimeout,
        };
    }
}

/// <summary>
/// Meters the messages a peer sends, per connection. The read loop asks it after each whole message; over the limit it
/// either fails the connection with 1008 or stops reading until the limiter lets it go on, so TCP back-pressure reaches
/// the peer.
/// </summary>
internal interface IInboundLimiter : IDisposable
{
    /// <summary>True to close an over-limit peer with 1008; false to stop reading until it is under the limit.</summary>
    bool CloseWhenExceeded { get; }

    /// <summary>A message of <paramref name="bytes"/> arrived: false when it put the peer over its limit.</summary>
    bool TryAdmit(long bytes);

    /// <summary>Completes when a message of <paramref name="bytes"/> fits the limit again.</summary>
    ValueTask WaitAsync(long bytes, CancellationToken cancellationToken);
}

/// <summary>Hears of a connection's start and end: how a host keeps a registry without wrapping the run in another task.</summary>
internal interface IConnectionObserver
{
    /// <summary>The connection is open and its read loop about to start; the handler has not run yet.</summary>
    void OnOpened(WibeSocketConnection connection);

    /// <summary>The read loop ended and the handler returned; the transport is about to be released.</summary>
    void OnClosed(WibeSocketConnection connection);
}
