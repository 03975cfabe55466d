using System.Diagnostics.Metrics;
using System.Net.Security;
using Microsoft.Extensions.Logging;
using Shockwave.Protocol.Compression;

namespace Shockwave.Client;

/// <summary>
/// How a <see cref="WibeSocketClient"/> connects: the handshake's headers, TLS, compression, limits and timers. One
/// instance may serve many connections; it is read when a connection starts, so change it between connections only.
/// </summary>
/// <remarks>
/// HTTP proxies are not supported: the client always opens a TCP connection to the URI's own host and port.
/// </remarks>
public sealed class WibeSocketClientOptions
{
    /// <summary>The default <see cref="MaxMessageSize"/>: 64 MiB, the server's default message limit.</summary>
    public const long DefaultMaxMessageSize = 64 * 1024 * 1024;

    /// <summary>
    /// The subprotocols to offer in <c>Sec-WebSocket-Protocol</c>, most preferred first. The default is none. The server
    /// selects at most one (see <see cref="WibeSocket.SubProtocol"/>); a 101 selecting one not offered fails the handshake.
    /// </summary>
    public IList<string> SubProtocols { get; } = new List<string>();

    /// <summary>The <c>Origin</c> header, as a browser would send it. The default is null: none (a non-browser client).</summary>
    public string? Origin { get; set; }

    /// <summary>
    /// Extra request headers, in this order: <c>Authorization</c> (a bearer token), <c>Cookie</c>, <c>User-Agent</c>. The
    /// handshake's own fields, <c>Origin</c>, <c>Content-Length</c> and <c>Transfer-Encoding</c> are refused when connecting;
    /// values must be printable ASCII. The default is none.
    /// </summary>
    public IList<KeyValuePair<string, string>> Headers { get; } = new List<KeyValuePair<string, string>>();

    /// <summary>
    /// The permessage-deflate offer (RFC 7692). The default is disabled: nothing is offered. Set <c>Enabled</c> to offer it;
    /// the other properties keep their server-side names: <c>ClientMaxWindowBits</c> caps this client's window,
    /// <c>ServerMaxWindowBits</c> below 15 asks the server for a smaller window, <c>ServerNoContextTakeover</c> asks the
    /// server to compress every message alone, and <c>RequireClientNoContextTakeover</c> makes this client do so. The
    /// server's answer is accepted only within the offer; anything else fails the handshake.
    /// </summary>
    public PerMessageDeflateOptions Compression { get; } = new();

    /// <summary>
    /// The longest the TCP connect, the TLS handshake and the HTTP upgrade may take together before the connection fails
    /// with a <see cref="TimeoutException"/>. The default is 30 seconds; <see cref="Timeout.InfiniteTimeSpan"/> disables it.
    /// Runs on <see cref="TimeProvider"/>.
    /// </summary>
    public TimeSpan ConnectTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// Checks the server's certificate on <c>wss://</c>. The default is null: the system's validation (a trusted chain whose
    /// name matches the URI's host, sent as SNI).
    /// </summary>
    public RemoteCertificateValidationCallback? RemoteCertificateValidationCallback { get; set; }

    /// <summary>
    /// The largest message (and frame) accepted from the server, after inflation; a larger one fails the connection with
    /// 1009. The default is <see cref="DefaultMaxMessageSize"/>.
    /// </summary>
    public long MaxMessageSize { get; set; } = DefaultMaxMessageSize;

    /// <summary>
    /// How many bytes of whole messages the client reads ahead of a caller that is not receiving before it stops reading
    /// and lets TCP push back on the server. The default is 1 MiB, as on the server.
    /// </summary>
    public long MaxReadAheadBytes { get; set; } = 1024 * 1024;

    /// <summary>
    /// Sends a ping when nothing has arrived from the server for this long. The default is 20 seconds, as on the server,
    /// so a dead connection behind a NAT or a load balancer is noticed; <see cref="TimeSpan.Zero"/> disables keep-alive.
    /// </summary>
    public TimeSpan KeepAliveInterval { get; set; } = TimeSpan.FromSeconds(20);

    /// <summary>
    /// How long after a keep-alive ping anything (the pong or any other frame) must arrive before the connection is
    /// aborted as dead (<see cref="WibeSocketState.Aborted"/>, <see cref="WibeSocket.ConnectionClosed"/> fires). The default
    /// is 20 seconds. Deadlines are checked once a second.
    /// </summary>
    public TimeSpan KeepAliveTimeout { get; set; } = TimeSpan.FromSeconds(20);

    /// <summary>
    /// How long after sending a close frame the client waits for the server's before it drops the connection. The default
    /// is 5 seconds, as on the server.
    /// </summary>
    public TimeSpan CloseTimeout { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>The clock of the connect timeout, keep-alive and close timeout. The default is <see cref="TimeProvider.System"/>.</summary>
    public TimeProvider TimeProvider { get; set; } = TimeProvider.System;

    /// <summary>Where connection logs go (category <c>Shockwave.WibeSocket</c>). The default is null: no logs.</summary>
    public ILoggerFactory? LoggerFactory { get; set; }

    /// <summary>
    /// Creates the connection meters (meter <c>Shockwave</c>, the server's instruments with the endpoint tag <c>client</c>).
    /// The default is null: the client's meters are scoped to the client and no listener of an app's meter factory sees them.
    /// </summary>
    public IMeterFactory? MeterFactory { get; set; }

    /// <summary>Throws <see cref="ArgumentException"/> for a value out of range.</summary>
    public void Validate()
    {
        if (ConnectTimeout != Timeout.InfiniteTimeSpan && ConnectTimeout <= TimeSpan.Zero)
        {
            throw new ArgumentOutOfRangeException(nameof(ConnectTimeout), ConnectTimeout, "The connect timeout must be positive or Timeout.InfiniteTimeSpan.");
        }

        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(MaxMessageSize, nameof(MaxMessageSize));
        ArgumentOutOfRangeException.ThrowIfNegative(MaxReadAheadBytes, nameof(MaxReadAheadBytes));
        ArgumentOutOfRangeException.ThrowIfLessThan(KeepAliveInterval, TimeSpan.Zero, nameof(KeepAliveInterval));
        if (KeepAliveInterval > TimeSpan.Zero)
        {
            ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(KeepAliveTimeout, TimeSpan.Zero, nameof(KeepAliveTimeout));
        }

        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(CloseTimeout, TimeSpan.Zero, nameof(CloseTimeout));
        ArgumentNullException.ThrowIfNull(TimeProvider, nameof(TimeProvider));
        Compression.Validate();
    }

    /// <summary>Copies every setting into <paramref name="target"/> (the lists are copied, not shared).</summary>
    public void CopyTo(WibeSocketClientOptions target)
    {
        ArgumentNullException.ThrowIfNull(target);
        target.SubProtocols.Clear();
        foreach (var protocol in SubProtocols)
        {
            target.SubProtocols.Add(protocol);
        }

        target.Headers.Clear();
        foreach (var header in Headers)
        {
            target.Headers.Add(header);
        }

        var c = Compression;
        var t = target.Compression;
        t.Enabled = c.Enabled;
        t.CompressionLevel = c.CompressionLevel;
        t.ServerMaxWindowBits = c.ServerMaxWindowBits;
        t.ServerNoContextTakeover = c.ServerNoContextTakeover;
        t.RequireClientNoContextTakeover = c.RequireClientNoContextTakeover;
        t.ClientMaxWindowBits = c.ClientMaxWindowBits;
        t.MinMessageSizeToCompress = c.MinMessageSizeToCompress;
        t.Codec = c.Codec;
        t.MemoryLevel = c.MemoryLevel;
        target.Origin = Origin;
        target.ConnectTimeout = ConnectTimeout;
        target.RemoteCertificateValidationCallback = RemoteCertificateValidationCallback;
        target.MaxMessageSize = MaxMessageSize;
        target.MaxReadAheadBytes = MaxReadAheadBytes;
        target.KeepAliveInterval = KeepAliveInterval;
        target.KeepAliveTimeout = KeepAliveTimeout;
        target.CloseTimeout = CloseTimeout;
        target.TimeProvider = TimeProvider;
        target.LoggerFactory = LoggerFactory;
        target.MeterFactory = MeterFactory;
    }
}
