using System.IO.Pipelines;
using System.Text;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.Primitives;
using Shockwave.Protocol.Compression;
using Shockwave.Protocol.Handshake;

namespace Shockwave.Testing;

/// <summary>
/// Opens WebSocket connections to a <see cref="TestServer"/> through the app's whole middleware pipeline, with a real
/// RFC 6455 opening handshake and real frames over an in-memory duplex pipe (no sockets).
/// Create one with <c>server.CreateWibeSocketClient()</c> or <c>factory.CreateWibeSocketClient()</c>; set the
/// properties, then connect as many times as needed.
/// </summary>
/// <remarks>
/// The app sees an <see cref="IHttpUpgradeFeature"/> that behaves like Kestrel's HTTP/1.1 upgrade: a 101 answer, then
/// a duplex stream; response body writes after the upgrade throw <see cref="InvalidOperationException"/>; when the
/// app returns, the connection closes.
/// </remarks>
public sealed class WibeSocketTestClient
{
    private TimeSpan _timeout = TimeSpan.FromSeconds(10);
    private int _maxMessageSize = 64 * 1024 * 1024;
    private int _transportBufferSize = 1024 * 1024;

    /// <summary>Creates a client for <paramref name="server"/>.</summary>
    public WibeSocketTestClient(TestServer server)
    {
        ArgumentNullException.ThrowIfNull(server);
        Server = server;
    }

    /// <summary>The server this client connects to.</summary>
    public TestServer Server { get; }

    /// <summary>
    /// Extra request headers, added after the handshake's own (<c>Connection</c>, <c>Upgrade</c>,
    /// <c>Sec-WebSocket-Key</c>, <c>Sec-WebSocket-Version</c>), which they replace when they share a name: set
    /// <c>Sec-WebSocket-Version</c> to <c>8</c> here to test a 426. Typical: <c>Authorization</c>, <c>Cookie</c>.
    /// </summary>
    public IHeaderDictionary RequestHeaders { get; } = new HeaderDictionary();

    /// <summary>The <c>Origin</c> header to send, as a browser would. The default is null: no <c>Origin</c> (a non-browser client).</summary>
    public string? Origin { get; set; }

    /// <summary>The subprotocols to offer in <c>Sec-WebSocket-Protocol</c>, most preferred first. The default is none.</summary>
    public IList<string> SubProtocols { get; } = new List<string>();

    /// <summary>
    /// The <c>Sec-WebSocket-Extensions</c> offer, sent as is, for example <c>permessage-deflate; client_max_window_bits</c>.
    /// The default is null: no offer. With permessage-deflate accepted, a <see cref="WibeSocketTestConnection"/>
    /// compresses and inflates with the parameters of the 101 (RFC 7692); a <see cref="WibeSocketRawTestConnection"/>
    /// does not inflate: compressed messages arrive with <see cref="WibeSocketTestMessage.IsCompressed"/> set and their
    /// deflate bytes as the payload.
    /// </summary>
    public string? Extensions { get; set; }

    /// <summary>
    /// Runs last on the request, after every header is set and before the app sees it: set <c>HttpContext.User</c>,
    /// change the method or protocol, or remove a handshake header to test a refusal.
    /// </summary>
    public Action<HttpContext>? ConfigureRequest { get; set; }

    /// <summary>
    /// The longest the handshake, and each operation of a connection, may take before it fails with a
    /// <see cref="TimeoutException"/>, so a hung app fails the test instead of hanging it. The default is 10 seconds;
    /// <see cref="Timeout.InfiniteTimeSpan"/> disables it. It is not applied while a debugger is attached. A
    /// <see cref="WibeSocketTestConnection"/> also waits this long for the server's close (at most an hour).
    /// </summary>
    public TimeSpan Timeout
    {
        get => _timeout;
        set
        {
            Timeouts.Validate(value, nameof(value));
            _timeout = value;
        }
    }

    /// <summary>
    /// Whether <see cref="WibeSocketRawTestConnection.ReceiveAsync"/> answers each ping with a pong carrying its payload
    /// (RFC 6455 section 5.5.2) before returning the ping. The default is true; set false to test a pong timeout. A
    /// <see cref="WibeSocketTestConnection"/> always answers pings, as they arrive.
    /// </summary>
    public bool AutoPong { get; set; } = true;

    /// <summary>
    /// The largest frame or message the client accepts from the server: a larger one fails a
    /// <see cref="WibeSocketTestConnection"/> with 1009, and a raw connection's receive with a
    /// <c>WebSocketProtocolException</c>. The default is 64 MiB, the server's default message limit.
    /// </summary>
    public int MaxMessageSize
    {
        get => _maxMessageSize;
        set
        {
            ArgumentOutOfRangeException.ThrowIfNegativeOrZero(value);
            _maxMessageSize = value;
        }
    }

    /// <summary>
    /// How many unread bytes each direction of the in-memory connection holds before the writer waits for the reader,
    /// like a socket's buffers: a server that stops reading back-pressures the client's sends and the other way round.
    /// A <see cref="WibeSocketTestConnection"/> also reads this far ahead of a test that does not receive. The default
    /// is 1 MiB.
    /// </summary>
    public int TransportBufferSize
    {
        get => _transportBufferSize;
        set
        {
            ArgumentOutOfRangeException.ThrowIfLessThan(value, 2);
            _transportBufferSize = value;
        }
    }

    /// <summary>
    /// Connects to <paramref name="path"/> (relative to the server's base address, or an absolute <c>ws:</c>/<c>http:</c>
    /// URI) and returns a connection that behaves like a production client, on Shockwave's connection runtime.
    /// </summary>
    /// <exception cref="WibeSocketHandshakeException">The app refused the handshake, or its 101 failed the client's checks.</exception>
    /// <exception cref="TimeoutException">The app did not answer within <see cref="Timeout"/>.</exception>
    public Task<WibeSocketTestConnection> ConnectAsync(string path, CancellationToken cancellationToken = default) =>
        ConnectAsync(ResolvePath(path), cancellationToken);

    /// <summary>Connects to <paramref name="uri"/>; a relative URI is resolved against the server's base address.</summary>
    /// <exception cref="WibeSocketHandshakeException">The app refused the handshake, or its 101 failed the client's checks.</exception>
    /// <exception cref="TimeoutException">The app did not answer within <see cref="Timeout"/>.</exception>
    public async Task<WibeSocketTestConnection> ConnectAsync(Uri uri, CancellationToken cancellationToken = default)
    {
        var result = await TryConnectAsync(uri, cancellationToken).ConfigureAwait(false);
        return result.Connection ?? throw new WibeSocketHandshakeException(result);
    }

    /// <summary>
    /// Connects to <paramref name="path"/> and returns a frame-level connection: broken frames on purpose, raw frames,
    /// pings, pongs and closes as they arrive, no rule applied unless asked (see <see cref="WibeSocketRawTestConnection"/>).
    /// </summary>
    /// <exception cref="WibeSocketHandshakeException">The app refused the handshake, or its 101 failed the client's checks.</exception>
    /// <exception cref="TimeoutException">The app did not answer within <see cref="Timeout"/>.</exception>
    public Task<WibeSocketRawTestConnection> ConnectRawAsync(string path, CancellationToken cancellationToken = default) =>
        ConnectRawAsync(ResolvePath(path), cancellationToken);

    /// <inheritdoc cref="ConnectRawAsync(string, CancellationToken)"/>
    public async Task<WibeSocketRawTestConnection> ConnectRawAsync(Uri uri, CancellationToken cancellationToken = default)
    {
        var (refused, upgraded) = await UpgradeAsync(uri, cancellationToken).ConfigureAwait(false);
        return upgraded is null ? throw new WibeSocketHandshakeException(refused!) : new WibeSocketRawTestConnection(upgraded.Connection);
    }

    /// <summary>
    /// Performs the handshake and returns the app's answer without throwing for a refusal: the status, headers and
    /// body of any response, and the (runtime-backed) connection after a valid 101.
    /// </summary>
    /// <exception cref="TimeoutException">The app did not answer within <see cref="Timeout"/>.</exception>
    /// <remarks>An exception the app threw before answering propagates as thrown, as from <see cref="TestServer.SendAsync"/>.</remarks>
    public Task<WibeSocketHandshakeResult> TryConnectAsync(string path, CancellationToken cancellationToken = default) =>
        TryConnectAsync(ResolvePath(path), cancellationToken);

    /// <inheritdoc cref="TryConnectAsync(string, CancellationToken)"/>
    public async Task<WibeSocketHandshakeResult> TryConnectAsync(Uri uri, CancellationToken cancellationToken = default)
    {
        var (refused, upgraded) = await UpgradeAsync(uri, cancellationToken).ConfigureAwait(false);
        if (upgraded is null)
        {
            return refused!;
        }

        var connection = new WibeSocketTestConnection(upgraded.Connection);
        return new WibeSocketHandshakeResult(StatusCodes.Status101SwitchingProtocols, upgraded.ReasonPhrase, upgraded.Connection.ResponseHeaders, [], connection, failureReason: null);
    }

    // The opening handshake both kinds of connection share: the app's refusal, or the connection after a valid 101.
    private async Task<(WibeSocketHandshakeResult? Refused, Upgrade? Upgraded)> UpgradeAsync(Uri uri, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(uri);
        if (!uri.IsAbsoluteUri)
        {
            uri = new Uri(Server.BaseAddress, uri);
        }

        var pipeOptions = new PipeOptions(
            pauseWriterThreshold: TransportBufferSize,
            resumeWriterThreshold: TransportBufferSize / 2,
            useSynchronizationContext: false);
        var clientToServer = new Pipe(pipeOptions);
        var serverToClient = new Pipe(pipeOptions);
        var serverStream = new DuplexPipeStream(clientToServer.Reader, serverToClient.Writer);
        var settings = new ConnectionSettings(Timeout, AutoPong, MaxMessageSize, TransportBufferSize);

        // Cancelling this token is the client going away: TestHost turns it into HttpContext.RequestAborted.
        var requestAborted = new CancellationTokenSource();
        InMemoryUpgradeFeature? upgradeFeature = null;
        HandshakeRequest? sent = null;

        var responseTask = Server.SendAsync(
            context =>
            {
                upgradeFeature = new InMemoryUpgradeFeature(context, serverStream);
                sent = PrepareRequest(context, uri, upgradeFeature);
            },
            requestAborted.Token);

        HttpContext responseContext;
        try
        {
            responseContext = await Timeouts.RunAsync(token => responseTask.WaitAsync(token), "The WebSocket handshake", Timeout, cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            ObserveLater(responseTask);
            await requestAborted.CancelAsync().ConfigureAwait(false);
            requestAborted.Dispose();
            CompleteClientEnds(clientToServer, serverToClient);
            throw;
        }

        var response = responseContext.Response;
        int status = response.StatusCode;
        string? reasonPhrase = responseContext.Features.Get<IHttpResponseFeature>()?.ReasonPhrase;
        var headers = new HeaderDictionary();
        foreach (var header in response.Headers)
        {
            headers[header.Key] = header.Value;
        }

        if (status != StatusCodes.Status101SwitchingProtocols)
        {
            try
            {
                byte[] body = await Timeouts.RunAsync(token => ReadToEndAsync(response.Body).WaitAsync(token), "Reading the refused handshake's response body", Timeout, cancellationToken).ConfigureAwait(false);
                return (new WibeSocketHandshakeResult(status, reasonPhrase, headers, body, connection: null, $"The server answered {status} instead of 101 Switching Protocols."), null);
            }
            finally
            {
                await response.Body.DisposeAsync().ConfigureAwait(false);
                requestAborted.Dispose();
                CompleteClientEnds(clientToServer, serverToClient);
            }
        }

        PerMessageDeflateParameters? deflate = null;
        string? failure = upgradeFeature is { IsUpgraded: true }
            ? CheckServerHandshake(headers, sent!, out deflate)
            : "The app answered 101 without calling IHttpUpgradeFeature.UpgradeAsync, so there is no connection.";
        if (failure is not null)
        {
            // RFC 6455 section 4.1: the client fails the connection; the app sees it dropped.
            await requestAborted.CancelAsync().ConfigureAwait(false);
            await response.Body.DisposeAsync().ConfigureAwait(false);
            requestAborted.Dispose();
            CompleteClientEnds(clientToServer, serverToClient);
            return (new WibeSocketHandshakeResult(status, reasonPhrase, headers, [], connection: null, failure), null);
        }

        var connection = new UpgradedConnection(
            serverToClient.Reader,
            clientToServer.Writer,
            serverStream,
            response.Body,
            requestAborted,
            headers,
            settings,
            deflate);
        return (null, new Upgrade(connection, reasonPhrase));
    }

    private HandshakeRequest PrepareRequest(HttpContext context, Uri uri, InMemoryUpgradeFeature upgradeFeature)
    {
        var request = context.Request;
        request.Method = HttpMethods.Get;
        request.Protocol = HttpProtocol.Http11;
        request.Scheme = uri.Scheme switch
        {
            "ws" => "http",
            "wss" => "https",
            _ => uri.Scheme,
        };
        request.Host = uri.IsDefaultPort ? new HostString(HostString.FromUriComponent(uri).Host) : HostString.FromUriComponent(uri);

        // As TestHost's own clients do: the part of the path under the server's base address is the app's.
        var pathBase = PathString.FromUriComponent(Server.BaseAddress);
        if (pathBase.HasValue && pathBase.Value!.EndsWith('/'))
        {
            pathBase = new PathString(pathBase.Value[..^1]);
        }

        var path = PathString.FromUriComponent(uri);
        if (pathBase.HasValue && path.StartsWithSegments(pathBase, out var remainder))
        {
            request.PathBase = pathBase;
            request.Path = remainder;
        }
        else
        {
            request.PathBase = PathString.Empty;
            request.Path = path;
        }

        request.QueryString = QueryString.FromUriComponent(uri);
        request.Body = Stream.Null;

        // RFC 6455 section 4.1: the client's opening handshake.
        var headers = request.Headers;
        headers.Connection = "Upgrade";
        headers.Upgrade = "websocket";
        headers.SecWebSocketKey = WebSocketAccept.CreateClientKey();
        headers.SecWebSocketVersion = WebSocketVersion.Current;
        if (SubProtocols.Count > 0)
        {
            headers.SecWebSocketProtocol = string.Join(", ", SubProtocols);
        }

        if (Extensions is not null)
        {
            headers.SecWebSocketExtensions = Extensions;
        }

        if (Origin is not null)
        {
            headers.Origin = Origin;
        }

        foreach (var header in RequestHeaders)
        {
            headers[header.Key] = header.Value;
        }

        context.Features.Set<IHttpUpgradeFeature>(upgradeFeature);
        ConfigureRequest?.Invoke(context);

        // The response is checked against what was actually sent, after every override.
        return new HandshakeRequest(
            headers.SecWebSocketKey.ToString(),
            headers.SecWebSocketProtocol,
            headers.SecWebSocketExtensions);
    }

    // RFC 6455 section 4.1, the client's checks of the server's handshake (points 1 to 6 after "the client MUST"), and
    // the permessage-deflate parameters the server agreed to (RFC 7692 section 7.1).
    private static string? CheckServerHandshake(IHeaderDictionary headers, HandshakeRequest sent, out PerMessageDeflateParameters? deflate)
    {
        deflate = null;
        if (headers.Upgrade is not [var upgrade] || !Ascii.EqualsIgnoreCase(HeaderTokens.TrimOws(upgrade), "websocket"))
        {
            return $"The 101 response's Upgrade header is '{headers.Upgrade}', not 'websocket'.";
        }

        if (!AnyContainsToken(headers.Connection, "upgrade"))
        {
            return $"The 101 response's Connection header is '{headers.Connection}', which does not list 'Upgrade'.";
        }

        if (headers.SecWebSocketAccept is not [var accept] || !WebSocketAccept.IsExpectedAccept(sent.Key, accept))
        {
            return $"The 101 response's Sec-WebSocket-Accept '{headers.SecWebSocketAccept}' does not match the key '{sent.Key}'.";
        }

        if (!WebSocketExtensionParser.TryParse((IReadOnlyList<string?>)headers.SecWebSocketExtensions, out var accepted))
        {
            return $"The 101 response's Sec-WebSocket-Extensions '{headers.SecWebSocketExtensions}' is malformed.";
        }

        // A malformed offer (sent on purpose to test a refusal) offers nothing.
        var offered = WebSocketExtensionParser.TryParse((IReadOnlyList<string?>)sent.Extensions, out var offers) ? offers : [];
        foreach (var extension in accepted)
        {
            if (!offered.Any(offer => string.Equals(offer.Name, extension.Name, StringComparison.OrdinalIgnoreCase)))
            {
                return $"The 101 response accepts the extension '{extension.Name}', which the client did not offer.";
            }

            if (string.Equals(extension.Name, PerMessageDeflateNegotiator.ExtensionName, StringComparison.OrdinalIgnoreCase))
            {
                if (deflate is not null)
                {
                    return "The 101 response accepts permessage-deflate more than once.";
                }

                if (DeflateResponse.TryRead(extension, offered, out var parameters) is { } invalid)
                {
                    return invalid;
                }

                deflate = parameters;
            }
        }

        var protocol = headers.SecWebSocketProtocol;
        if (protocol.Count > 1)
        {
            return $"The 101 response names several subprotocols: '{protocol}'.";
        }

        if (protocol is [var selected] && !IsOffered(sent.SubProtocols, selected))
        {
            return $"The 101 response selects the subprotocol '{selected}', which the client did not offer.";
        }

        return null;
    }

    private static bool AnyContainsToken(StringValues values, string token)
    {
        foreach (var value in values)
        {
            if (value is not null && HeaderTokens.ContainsToken(value, token))
            {
                return true;
            }
        }

        return false;
    }

    private static bool IsOffered(StringValues offers, string? selected)
    {
        foreach (var value in offers)
        {
            foreach (var offer in HeaderTokens.Enumerate(value))
            {
                if (offer.SequenceEqual(selected))
                {
                    return true;
                }
            }
        }

        return false;
    }

    private Uri ResolvePath(string path)
    {
        ArgumentNullException.ThrowIfNull(path);

        // A leading '/' is a path, although on Unix it would also parse as an absolute file URI.
        if (!path.StartsWith('/')
            && Uri.TryCreate(path, UriKind.Absolute, out var absolute)
            && absolute.Scheme is "ws" or "wss" or "http" or "https")
        {
            return absolute;
        }

        return new Uri(Server.BaseAddress, path);
    }

    private static async Task<byte[]> ReadToEndAsync(Stream body)
    {
        using var buffer = new MemoryStream();

        // No cancellation token: cancelling a read of TestHost's response stream aborts the request for good.
        await body.CopyToAsync(buffer, CancellationToken.None).ConfigureAwait(false);
        return buffer.ToArray();
    }

    private static void CompleteClientEnds(Pipe clientToServer, Pipe serverToClient)
    {
        clientToServer.Writer.Complete();
        serverToClient.Reader.Complete();
    }

    private static void ObserveLater(Task task) =>
        task.ContinueWith(static t => _ = t.Exception, CancellationToken.None, TaskContinuationOptions.OnlyOnFaulted | TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);

    private sealed record HandshakeRequest(string Key, StringValues SubProtocols, StringValues Extensions);

    private sealed record Upgrade(UpgradedConnection Connection, string? ReasonPhrase);
}

/// <summary>The client's settings a connection keeps, fixed when it is opened.</summary>
internal readonly record struct ConnectionSettings(TimeSpan Timeout, bool AutoPong, int MaxMessageSize, int TransportBufferSize);
