using System.Diagnostics;
using System.Net;
using System.IO.Pipelines;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Connections.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Http.Timeouts;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Primitives;
using Microsoft.Net.Http.Headers;
using Shockwave.Clients;
using Shockwave.Diagnostics;
using Shockwave.Drain;
using Shockwave.Protocol.Compression;
using Shockwave.Protocol.Handshake;
using Shockwave.Runtime;

namespace Shockwave.Upgrade;

/// <summary>
/// One mapped WibeSocket endpoint: validates the upgrade, negotiates, switches protocols and runs the connection
/// runtime on the best transport the server offers. Shared by <c>MapWibeSocket</c> and the raw Kestrel listener.
/// </summary>
internal sealed class WibeSocketEndpoint
{
    private readonly Func<WibeSocket, CancellationToken, Task> _handler;
    private readonly Action<WibeSocketOptions>? _configure;
    private readonly IServiceProvider _services;
    private readonly Lock _gate = new();
    private readonly WibeSocketDrainService _drain;
    private WibeSocketOptions? _options;
    private PerMessageDeflateNegotiator? _deflate;

    /// <param name="pattern">The route pattern.</param>
    /// <param name="handler">The per-connection handler.</param>
    /// <param name="configure">The endpoint's option overrides.</param>
    /// <param name="services">
    /// The application's root provider, where the runtime and the options (singletons) come from. Not
    /// <see cref="HttpContext.RequestServices"/>: that creates a request scope an upgraded connection would keep alive for
    /// its whole life.
    /// </param>
    /// <param name="audienceKey">Whose connections these are: the hub type, or the pattern for a delegate endpoint.</param>
    public WibeSocketEndpoint(string pattern, Func<WibeSocket, CancellationToken, Task> handler, Action<WibeSocketOptions>? configure, IServiceProvider services, object audienceKey)
    {
        Pattern = pattern;
        Connections = services.GetRequiredService<WibeSocketConnectionRegistry>().For(audienceKey);
        _drain = services.GetRequiredService<WibeSocketDrainService>();
        _handler = handler;
        _configure = configure;
        _services = services;
    }

    public string Pattern { get; }

    /// <summary>The endpoint's audience: told of every connection's start and end, and what addresses them.</summary>
    public EndpointConnections Connections { get; }

    public Func<WibeSocket, CancellationToken, Task> Handler => _handler;

    /// <summary>The server-wide options with this endpoint's overrides, validated once.</summary>
    public WibeSocketOptions GetOptions(IServiceProvider services, out PerMessageDeflateNegotiator? deflate)
    {
        lock (_gate)
        {
            if (_options is null)
            {
                var options = services.GetRequiredService<IOptions<WibeSocketOptions>>().Value.Clone();
                _configure?.Invoke(options);
                WibeSocketOptionsValidator.ThrowIfInvalid(options, $"the endpoint '{Pattern}'");
                _deflate = options.Compression.Enabled ? new PerMessageDeflateNegotiator(options.Compression) : null;
                _options = options;
            }

            deflate = _deflate;
            return _options;
        }
    }

    /// <summary>
    /// Upgrades the request and runs the connection. The upgrade is a separate step so that, when it completes
    /// synchronously (Kestrel's usual case), no async frame of this method stays alive beside the connection's own for
    /// its whole life: one object fewer per idle connection.
    /// </summary>
    public Task HandleAsync(HttpContext context)
    {
        var upgrading = UpgradeAsync(context);
        if (!upgrading.IsCompletedSuccessfully)
        {
            return RunAfterUpgradeAsync(upgrading);
        }

        var setup = upgrading.Result;
        return setup is null ? Task.CompletedTask : WibeSocketConnection.RunAsync(setup, _handler);
    }

    private async Task RunAfterUpgradeAsync(ValueTask<ConnectionSetup?> upgrading)
    {
        if (await upgrading.ConfigureAwait(false) is { } setup)
        {
            await WibeSocketConnection.RunAsync(setup, _handler).ConfigureAwait(false);
        }
    }

    /// <summary>Validates and negotiates, then answers: a rejection (null), or the switch to WebSocket (the setup).</summary>
    private async ValueTask<ConnectionSetup?> UpgradeAsync(HttpContext context)
    {
        // A child of the request's activity (Activity.Current), when anyone listens.
        using var activity = WibeSocketActivities.Source.StartActivity("WibeSocket upgrade", ActivityKind.Server);
        activity?.SetTag("shockwave.endpoint", Pattern);
        var setup = await UpgradeCoreAsync(context).ConfigureAwait(false);
        if (activity is not null)
        {
            activity.SetTag("http.response.status_code", context.Response.StatusCode);
            activity.SetTag("websocket.subprotocol", setup?.SubProtocol);
            activity.SetStatus(setup is null ? ActivityStatusCode.Error : ActivityStatusCode.Ok);
        }

        return setup;
    }

    private async ValueTask<ConnectionSetup?> UpgradeCoreAsync(HttpContext context)
    {
        var services = _services;
        var runtime = services.GetRequiredService<WibeSocketRuntime>();
        var options = GetOptions(services, out var deflate);
        var connect = context.Features.Get<IHttpExtendedConnectFeature>();
        bool extendedConnect = connect?.IsExtendedConnect == true;
        var upgrade = context.Features.Get<IHttpUpgradeFeature>();

        if (!extendedConnect && !LooksLikeWebSocketRequest(context.Request))
        {
            // A plain HTTP request to a WebSocket-only endpoint: say what it takes (RFC 9110 section 15.5.22).
            await RejectAsync(context, runtime, HandshakeRefusals.NotAWebSocketRequest).ConfigureAwait(false);
            return null;
        }

        if (extendedConnect && !string.Equals(connect!.Protocol, "websocket", StringComparison.OrdinalIgnoreCase))
        {
            await RejectAsync(context, runtime, HandshakeRefusals.UnsupportedConnectProtocol).ConfigureAwait(false);
            return null;
        }

        // Draining: this node is leaving; the client should come back (to another pod) after Retry-After.
        if (_drain.IsDraining)
        {
            await RejectAsync(context, runtime, _drain.Refusal).ConfigureAwait(false);
            return null;
        }

        var decision = HandshakeDecision.Decide(CreateRequest(context, extendedConnect), options, deflate);
        if (!decision.Accepted)
        {
            await RejectAsync(context, runtime, decision).ConfigureAwait(false);
            return null;
        }

        if (!extendedConnect && upgrade is not { IsUpgradableRequest: true })
        {
            // Kestrel refuses to upgrade a request with a body (platform notes 1.1); TestServer cannot upgrade at all.
            await RejectAsync(context, runtime, HandshakeRefusals.NotUpgradable).ConfigureAwait(false);
            return null;
        }

        WriteAcceptHeaders(context, decision, extendedConnect);
        context.Features.Get<IHttpRequestTimeoutFeature>()?.DisableTimeout();

        Stream stream;
        try
        {
            stream = extendedConnect ? await connect!.AcceptAsync().ConfigureAwait(false) : await upgrade!.UpgradeAsync().ConfigureAwait(false);
        }
        catch (InvalidOperationException ex) when (!context.Response.HasStarted)
        {
            // Kestrel's MaxConcurrentUpgradedConnections is reached: it would answer 500; this is a 503 (platform notes 1.4).
            Log.UpgradeFailed(runtime.Logger, context.TraceIdentifier, ex.Message);
            context.Response.Headers.Remove(HeaderNames.Upgrade);
            context.Response.Headers.Remove(HeaderNames.Connection);
            context.Response.Headers.Remove(HeaderNames.SecWebSocketAccept);
            context.Response.Headers.Remove(HeaderNames.SecWebSocketProtocol);
            context.Response.Headers.Remove(HeaderNames.SecWebSocketExtensions);
            await RejectAsync(context, runtime, HandshakeRefusals.UpgradeLimitReached).ConfigureAwait(false);
            return null;
        }

        return CreateSetup(context, runtime, options, decision, stream, extendedConnect);
    }

    private static bool LooksLikeWebSocketRequest(HttpRequest request) =>
        request.Headers.ContainsKey(HeaderNames.SecWebSocketKey)
        || request.Headers.ContainsKey(HeaderNames.SecWebSocketVersion)
        || HeaderTokens.ContainsToken(request.Headers.Upgrade.ToString(), "websocket");

    private static HandshakeRequest CreateRequest(HttpContext context, bool extendedConnect)
    {
        var request = context.Request;
        var headers = request.Headers;
        var keys = headers.SecWebSocketKey;
        var versions = headers.SecWebSocketVersion;
        return new HandshakeRequest
        {
            Head = new WebSocketRequestHead
            {
                Method = request.Method,
                IsHttp11OrLater = !HttpProtocol.IsHttp10(request.Protocol) && !HttpProtocol.IsHttp09(request.Protocol),
                HostCount = request.Host.HasValue ? 1 : 0,
                Upgrade = JoinList(headers.Upgrade),
                Connection = JoinList(headers.Connection),
                KeyCount = keys.Count,
                Key = keys.Count == 1 ? keys[0] : null,
                VersionCount = versions.Count,
                Version = versions.Count == 1 ? versions[0] : null,
            },
            IsExtendedConnect = extendedConnect,
            Origin = headers.Origin.Count > 0 ? headers.Origin[0] : null,
            RequestOrigin = $"{request.Scheme}://{request.Host.Value}",
            SubProtocolHeaders = headers.SecWebSocketProtocol.ToArray(),
            ExtensionHeaders = headers.SecWebSocketExtensions.ToArray(),
            RequiresAuthorization = RequiresAuthorization(context),
        };
    }

    private static string? JoinList(StringValues values) => values.Count switch
    {
        0 => null,
        1 => values[0],
        _ => string.Join(",", values.ToArray()),
    };

    private static bool RequiresAuthorization(HttpContext context)
    {
        var metadata = context.GetEndpoint()?.Metadata;
        return metadata is not null
            && metadata.GetMetadata<IAuthorizeData>() is not null
            && metadata.GetMetadata<IAllowAnonymous>() is null;
    }

    private static void WriteAcceptHeaders(HttpContext context, HandshakeDecision decision, bool extendedConnect)
    {
        var headers = context.Response.Headers;
        if (!extendedConnect)
        {
            // RFC 6455 section 4.2.2: Upgrade, Connection and the accept key. RFC 8441 keeps none of them on HTTP/2.
            headers.Upgrade = "websocket";
            headers.Connection = "Upgrade";
            headers.SecWebSocketAccept = WebSocketAccept.ComputeAccept(context.Request.Headers.SecWebSocketKey.ToString().Trim());
        }

        if (decision.SubProtocol is not null)
        {
            headers.SecWebSocketProtocol = decision.SubProtocol;
        }

        if (decision.ExtensionsResponse is not null)
        {
            headers.SecWebSocketExtensions = decision.ExtensionsResponse;
        }
    }

    private ConnectionSetup CreateSetup(HttpContext context, WibeSocketRuntime runtime, WibeSocketOptions options, HandshakeDecision decision, Stream stream, bool extendedConnect)
    {
        // Zero-copy path: on Kestrel HTTP/1.1 the connection's own transport pipe is the upgraded byte stream once the
        // 101 is out (platform notes 1.3). Never on HTTP/2, where it would be the whole multiplexed connection.
        var transport = !extendedConnect && HttpProtocol.IsHttp11(context.Request.Protocol)
            ? context.Features.Get<IConnectionTransportFeature>()?.Transport
            : null;
        bool raw = transport is not null;
        transport ??= new StreamDuplexPipe(stream);

        return new ConnectionSetup
        {
            Transport = transport,
            // Kestrel's trace identifier is "<connection id>:<request number>": unique, and already allocated.
            ConnectionId = Connections.NewConnectionId(context.TraceIdentifier),
            Limits = options.ToConnectionLimits(),
            Runtime = runtime,
            TransportName = raw ? TransportNames.KestrelTransport : TransportNames.UpgradeStream,
            User = context.User,
            SubProtocol = decision.SubProtocol,
            HostContext = context,
            Observer = Connections,
            EndpointName = Pattern,
            InboundLimiter = CreateInboundLimiter(options),
            AbortHost = AbortRequest,
            ResolveRemoteEndPoint = RemoteEndPointOf,
            Compression = decision.Compression,
            CompressionOptions = options.Compression,
            CancelledReadMeansShutdown = raw,
            OwnsTransport = !raw,
        };
    }

    /// <summary>The connection's own rate limiter when the endpoint sets a rate; null (nothing allocated) otherwise.</summary>
    internal static TokenBucketInboundLimiter? CreateInboundLimiter(WibeSocketOptions options) =>
        options.InboundRateLimit.IsEnabled ? new TokenBucketInboundLimiter(options.InboundRateLimit) : null;

    // Static, so the delegates are cached and an idle connection carries no closure.
    private static void AbortRequest(object context) => ((HttpContext)context).Abort();

    private static IPEndPoint? RemoteEndPointOf(object context) =>
        ((HttpContext)context).Connection is { RemoteIpAddress: { } ip } connection ? new IPEndPoint(ip, connection.RemotePort) : null;

    private static async Task RejectAsync(HttpContext context, WibeSocketRuntime runtime, HandshakeDecision decision)
    {
        Log.HandshakeRejected(runtime.Logger, context.TraceIdentifier, context.Request.Path, decision.StatusCode, decision.Reason);
        runtime.Metrics.HandshakeRejected(decision.Reason, decision.StatusCode);
        context.Response.StatusCode = decision.StatusCode;
        foreach (var header in decision.ResponseHeaders)
        {
            context.Response.Headers.Append(header.Key, header.Value);
        }

        await context.Response.CompleteAsync().ConfigureAwait(false);
    }
}

/// <summary>Names of the transport paths, as logged and as tests assert them.</summary>
internal static class TransportNames
{
    public const string KestrelTransport = "kestrel-transport";
    public const string UpgradeStream = "upgrade-stream";
    public const string RawListener = "raw-listener";
}

/// <summary>Pipes over an upgrade stream: the portable path (HTTP/2, TestServer, other servers).</summary>
internal sealed class StreamDuplexPipe(Stream stream) : IDuplexPipe
{
    public PipeReader Input { get; } = PipeReader.Create(stream, new StreamPipeReaderOptions(bufferSize: 4096, minimumReadSize: 1024, leaveOpen: true));

    public PipeWriter Output { get; } = PipeWriter.Create(stream, new StreamPipeWriterOptions(leaveOpen: true));
}
