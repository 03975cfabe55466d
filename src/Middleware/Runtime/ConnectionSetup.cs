using System.IO.Pipelines;
using System.Net;
using System.Security.Claims;
using Microsoft.AspNetCore.Http;
using Shockwave.Protocol.Compression;

namespace Shockwave.Runtime;

/// <summary>
/// Everything the connection runtime needs, from whichever entry point accepted the connection (endpoint routing or
/// the raw Kestrel listener). The runtime depends on this and on the transport pipe only, never on HTTP types.
/// </summary>
internal sealed class ConnectionSetup
{
    public required IDuplexPipe Transport { get; init; }

    public required string ConnectionId { get; init; }

    public required WibeSocketOptions Options { get; init; }

    public required WibeSocketRuntime Runtime { get; init; }

    /// <summary>A short name of the transport path for logs: <c>kestrel-transport</c>, <c>upgrade-stream</c> or <c>raw-listener</c>.</summary>
    public required string TransportName { get; init; }

    public ClaimsPrincipal User { get; init; } = new(new ClaimsIdentity());

    public string? SubProtocol { get; init; }

    public EndPoint? RemoteEndPoint { get; init; }

    public HttpContext? HttpContext { get; init; }

    /// <summary>The negotiated permessage-deflate parameters, or null when compression is off for this connection.</summary>
    public PerMessageDeflateParameters? Compression { get; init; }

    /// <summary>The compression settings of the endpoint (level, minimum size), used when <see cref="Compression"/> is set.</summary>
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

    /// <summary>Tears the underlying connection down (ConnectionContext.Abort); when null, <see cref="HttpContext"/>'s Abort does.</summary>
    public Action? AbortTransport { get; init; }
}
