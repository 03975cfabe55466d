using System.IO.Pipelines;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Connections.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Shockwave.Diagnostics;
using Shockwave.Drain;
using Shockwave.Protocol.Handshake;
using Shockwave.Runtime;
using Shockwave.Upgrade;

namespace Shockwave.Listener;

/// <summary>
/// The raw Kestrel listener: the terminal connection delegate of a <c>ListenOptions</c>. It reads the HTTP/1.1 upgrade
/// request itself, routes it to a <c>MapWibeSocket</c> endpoint, answers 101 or an error, and runs the same connection
/// runtime as the endpoint path on Kestrel's transport pipe. One instance per listen endpoint.
/// </summary>
/// <remarks>
/// <para>
/// Handshake deadline: <see cref="WibeSocketOptions.HandshakeTimeout"/> from the first byte of the connection to the
/// end of the request head, on the DI <see cref="TimeProvider"/>; it bounds the whole head, not each read, so a peer
/// trickling bytes gains nothing. Past it the peer gets 408 and the connection closes, also when it sent nothing at all
/// (a deterministic answer, which RFC 9110 section 15.5.9 allows on an idle connection). The head is limited to <see cref="WibeSocketOptions.MaxRequestHeadSize"/>
/// (431 past it). Both come from the server-wide options: the endpoint is not known until the head has been read.
/// </para>
/// <para>
/// Fail closed: nothing runs between the socket and the handler here (no authentication, authorization or rate limiting),
/// so an endpoint whose metadata asks for authorization (or the app's fallback policy does) or for rate limiting is
/// answered 403 per request, and logged once as a warning when the route table is built. The same endpoint keeps
/// working through an HTTP listener. A global rate limiter is not applied either: it is no endpoint metadata.
/// </para>
/// </remarks>
internal sealed class WibeSocketListener
{
    private readonly IServiceProvider _services;
    private readonly WibeSocketRuntime _runtime;
    private readonly WibeSocketDrainService _drain;
    private readonly WibeSocketOptions _options;
    private readonly ListenerRouteTable _routes;

    public WibeSocketListener(IServiceProvider services)
    {
        ArgumentNullException.ThrowIfNull(services);
        if (services.GetService<WibeSocketMarkerService>() is null)
        {
            throw new InvalidOperationException("UseWibeSocket() needs the WibeSocket services. Add them by calling 'builder.Services.AddWibeSocket()'.");
        }

        var dataSource = services.GetService<EndpointDataSource>()
            ?? throw new InvalidOperationException("UseWibeSocket() routes to endpoints mapped with MapWibeSocket and needs endpoint routing. Add it by calling 'builder.Services.AddRouting()'.");

        _services = services;
        _runtime = services.GetRequiredService<WibeSocketRuntime>();
        _drain = services.GetRequiredService<WibeSocketDrainService>();
        _options = services.GetRequiredService<IOptions<WibeSocketOptions>>().Value;
        var fallbackPolicy = services.GetService<IOptions<AuthorizationOptions>>()?.Value.FallbackPolicy;
        _routes = new ListenerRouteTable(dataSource, services.GetService<ParameterPolicyFactory>(), fallbackPolicy, _runtime.Logger);

        // Built now, when Kestrel binds (the app's endpoints are mapped by then): a bad route pattern fails startup, and
        // endpoints this listener refuses are reported before the first client finds out.
        _ = _routes.Routes;
    }

    public async Task OnConnectedAsync(ConnectionContext connection)
    {
        try
        {
            await ServeAsync(connection).ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            // Per-connection isolation: whatever one peer did ends its own connection only (Kestrel closes it when this
            // returns) and is nobody else's concern, so it is logged at Debug, not as the Error Kestrel would log.
            Log.ListenerConnectionFailed(_runtime.Logger, connection.ConnectionId, ex);
        }
    }

    private async Task ServeAsync(ConnectionContext connection)
    {
        var input = connection.Transport.Input;

        // On shutdown Kestrel asks each connection to close, but unlike its HTTP connections a connection handler's pending
        // read is left alone. Cancel it: the handshake stops waiting, and the runtime sees the unrequested cancelled read it
        // takes as "server stopping" (CancelledReadMeansShutdown, platform notes 1.3) and closes with 1001.
        var closeRequested = connection.Features.Get<IConnectionLifetimeNotificationFeature>()?.ConnectionClosedRequested ?? CancellationToken.None;
        using var registration = closeRequested.UnsafeRegister(static state => ((PipeReader)state!).CancelPendingRead(), input);

        Accepted? accepted;
        using (var deadline = new CancellationTokenSource(_options.HandshakeTimeout, _runtime.TimeProvider))
        {
            accepted = await HandshakeAsync(connection, deadline.Token).ConfigureAwait(false);
        }

        if (accepted is null)
        {
            return;
        }

        var setup = new ConnectionSetup
        {
            Transport = connection.Transport,
            ConnectionId = accepted.Endpoint.Connections.NewConnectionId(connection.ConnectionId),
            Limits = accepted.Options.ToConnectionLimits(),
            Runtime = _runtime,
            TransportName = TransportNames.RawListener,
            SubProtocol = accepted.Decision.SubProtocol,
            RemoteEndPoint = connection.RemoteEndPoint,
            Compression = accepted.Decision.Compression,
            CompressionOptions = accepted.Options.Compression,
            CancelledReadMeansShutdown = true,
            Observer = accepted.Endpoint.Connections,
            EndpointName = accepted.Endpoint.Pattern,
            InboundLimiter = WibeSocketEndpoint.CreateInboundLimiter(accepted.Options),

            // Kestrel completes both pipes when this delegate returns (it disposes the connection), after everything
            // the runtime flushed, its final close frame included, has been handed to the socket.
            OwnsTransport = false,
            AbortTransport = connection.Abort,
        };

        await WibeSocketConnection.RunAsync(setup, accepted.Endpoint.Handler).ConfigureAwait(false);
    }

    /// <summary>Reads and judges the request; writes the 101 or the error. Null when the connection must just close.</summary>
    private async Task<Accepted?> HandshakeAsync(ConnectionContext connection, CancellationToken deadline)
    {
        var (head, failure) = await ReadHeadAsync(connection, deadline).ConfigureAwait(false);
        if (head is null)
        {
            if (failure is not null)
            {
                await RejectAsync(connection, "", failure).ConfigureAwait(false);
            }

            return null;
        }

        // Authority and asterisk forms name no resource (RFC 9112 section 3.2.3-4).
        if (head.Path.Length == 0)
        {
            await RejectAsync(connection, head.Target, HandshakeRefusals.InvalidRequestTarget).ConfigureAwait(false);
            return null;
        }

        var route = _routes.Match(PathString.FromUriComponent(head.Path));
        if (route is null)
        {
            await RejectAsync(connection, head.Path, HandshakeRefusals.NoEndpoint).ConfigureAwait(false);
            return null;
        }

        if (route.RefusalReason is { } refusal)
        {
            await RejectAsync(connection, head.Path, HandshakeDecision.Refuse(403, refusal)).ConfigureAwait(false);
            return null;
        }

        var options = route.Endpoint.GetOptions(_services, out var deflate);
        var headers = head.Headers;

        // The same rule, status and headers as WibeSocketEndpoint for a plain HTTP request to a WebSocket-only endpoint.
        if (!headers.Contains("Sec-WebSocket-Key") && !headers.Contains("Sec-WebSocket-Version") && !HeaderTokens.ContainsToken(headers.GetCombinedValue("Upgrade"), "websocket"))
        {
            await RejectAsync(connection, head.Path, HandshakeRefusals.NotAWebSocketRequest).ConfigureAwait(false);
            return null;
        }

        var decision = HandshakeDecision.Decide(CreateRequest(connection, head), options, deflate);
        if (!decision.Accepted)
        {
            await RejectAsync(connection, head.Path, decision).ConfigureAwait(false);
            return null;
        }

        // Kestrel refuses to upgrade a request with a body (the endpoint path's "NotUpgradable"); here the body's bytes
        // would otherwise be read as WebSocket frames.
        if (headers.Contains("Transfer-Encoding") || (headers.GetFirstValue("Content-Length") is { } length && !HeaderTokens.TrimOws(length).SequenceEqual("0")))
        {
            await RejectAsync(connection, head.Path, HandshakeRefusals.NotUpgradable).ConfigureAwait(false);
            return null;
        }

        if (_runtime.Stopping.IsCancellationRequested)
        {
            await RejectAsync(connection, head.Path, HandshakeRefusals.ServerStopping).ConfigureAwait(false);
            return null;
        }

        if (_drain.IsDraining)
        {
            await RejectAsync(connection, head.Path, _drain.Refusal).ConfigureAwait(false);
            return null;
        }

        // RFC 6455 section 4.2.2 (R6455-4.2.2-j1 to j4): the 101 with Upgrade, Connection, the accept key, and the
        // negotiated protocol and extensions. Flushed now: a handler may wait for the client to speak first.
        var output = connection.Transport.Output;
        Http1ResponseWriter.WriteSwitchingProtocols(output, headers.GetFirstValue("Sec-WebSocket-Key"), decision.SubProtocol, decision.ExtensionsResponse);
        var flush = await output.FlushAsync(deadline).ConfigureAwait(false);
        if (flush.IsCompleted)
        {
            Log.ListenerHandshakeAbandoned(_runtime.Logger, connection.ConnectionId, "the transport closed before the 101 was sent");
            return null;
        }

        return new Accepted(route.Endpoint, options, decision);
    }

    /// <summary>
    /// Reads the request head, leaving the reader exactly past it: bytes a client sent right behind the head (its first
    /// frame, pipelined) stay in the pipe for the runtime. Returns the head, or null with the error to answer, or null
    /// and no error when the connection should just close.
    /// </summary>
    private async Task<(Http1RequestHead? Head, HandshakeDecision? Failure)> ReadHeadAsync(ConnectionContext connection, CancellationToken deadline)
    {
        var input = connection.Transport.Input;
        var parser = new Http1RequestHeadParser(_options.MaxRequestHeadSize);
        while (true)
        {
            ReadResult result;
            try
            {
                result = await input.ReadAsync(deadline).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (deadline.IsCancellationRequested)
            {
                // 408 whether or not the peer sent anything: RFC 9110 section 15.5.9 allows it on an idle connection, and
                // a client that was about to send learns why the connection closed.
                Log.ListenerHandshakeTimeout(_runtime.Logger, connection.ConnectionId, _options.HandshakeTimeout);
                return (null, HandshakeRefusals.HandshakeTimeout);
            }

            var buffer = result.Buffer;
            if (result.IsCanceled)
            {
                input.AdvanceTo(buffer.Start);
                Log.ListenerHandshakeAbandoned(_runtime.Logger, connection.ConnectionId, "the server is stopping");
                return (null, null);
            }

            var status = parser.TryParse(ref buffer, out var head, out var error);
            switch (status)
            {
                case Http1ParseStatus.Done:
                    // Consumed and examined exactly up to the end of the head; anything after it is the runtime's.
                    input.AdvanceTo(buffer.Start);
                    return (head, null);

                case Http1ParseStatus.NeedMoreData:
                    // The parser remembers how far it scanned; nothing is consumed until the head is complete.
                    input.AdvanceTo(buffer.Start, buffer.End);
                    if (result.IsCompleted)
                    {
                        Log.ListenerHandshakeAbandoned(_runtime.Logger, connection.ConnectionId, "the peer closed the connection mid-request");
                        return (null, null);
                    }

                    continue;

                case Http1ParseStatus.HeadTooLarge:
                    // RFC 6585 section 5.
                    input.AdvanceTo(buffer.Start, buffer.End);
                    return (null, HandshakeDecision.Refuse(431, error.ToString()));

                default:
                    input.AdvanceTo(buffer.Start, buffer.End);
                    return (null, HandshakeDecision.Refuse(error == Http1HeadError.UnsupportedHttpVersion ? 505 : 400, error.ToString()));
            }
        }
    }

    private static HandshakeRequest CreateRequest(ConnectionContext connection, Http1RequestHead head)
    {
        var headers = head.Headers;
        bool tls = connection.Features.Get<ITlsHandshakeFeature>() is not null;
        return new HandshakeRequest
        {
            Head = head.ToWebSocketRequestHead(),
            Origin = headers.GetFirstValue("Origin"),
            RequestOrigin = (tls ? "https://" : "http://") + headers.GetFirstValue("Host"),
            SubProtocolHeaders = GetValues(headers, "Sec-WebSocket-Protocol"),
            ExtensionHeaders = GetValues(headers, "Sec-WebSocket-Extensions"),

            // Endpoints that require authorization never get here (403 above), so the cross-site rule has nothing to protect.
            RequiresAuthorization = false,
        };
    }

    private static List<string?> GetValues(Http1HeaderCollection headers, string name)
    {
        var values = new List<string?>();
        foreach (var field in headers)
        {
            if (string.Equals(field.Key, name, StringComparison.OrdinalIgnoreCase))
            {
                values.Add(field.Value);
            }
        }

        return values;
    }

    /// <summary>Answers an error with <c>Connection: close</c> and <c>Content-Length: 0</c>; the connection then closes.</summary>
    private async Task RejectAsync(ConnectionContext connection, string path, HandshakeDecision decision)
    {
        Log.ListenerHandshakeRejected(_runtime.Logger, connection.ConnectionId, path, decision.StatusCode, decision.Reason);
        _runtime.Metrics.HandshakeRejected(decision.Reason, decision.StatusCode);
        var output = connection.Transport.Output;
        Http1ResponseWriter.WriteRejection(output, decision.StatusCode, decision.ResponseHeaders);

        // A few dozen bytes: well under the pipe's pause threshold, so this completes without waiting for the peer.
        await output.FlushAsync(connection.ConnectionClosed).ConfigureAwait(false);
    }

    private sealed record Accepted(WibeSocketEndpoint Endpoint, WibeSocketOptions Options, HandshakeDecision Decision);
}
