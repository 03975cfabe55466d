using System.Globalization;
using System.IO.Pipelines;
using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using Shockwave.Protocol;
using Shockwave.Protocol.Compression;
using Shockwave.Protocol.Handshake;
using Shockwave.Runtime;

namespace Shockwave.Client;

/// <summary>
/// Opens WibeSocket connections to <c>ws://</c> and <c>wss://</c> servers on Shockwave's connection runtime, in the client
/// role. Use <see cref="ConnectAsync(Uri, WibeSocketClientOptions?, CancellationToken)"/> standalone, or a named client from
/// <see cref="IWibeSocketClientFactory"/> in a hosted app.
/// </summary>
/// <remarks>
/// The handshake is HTTP/1.1 over a TCP connection to the URI's host and port (TLS with SNI for <c>wss</c>); proxies are
/// not supported. The 101 is checked strictly (RFC 6455 section 4.1): a bad <c>Sec-WebSocket-Accept</c>, a missing
/// <c>Upgrade</c> or <c>Connection</c>, an extension or subprotocol that was not offered, any status but 101, or bytes that
/// are not HTTP fail with a <see cref="WibeSocketUpgradeException"/>, and a server that does not answer within
/// <see cref="WibeSocketClientOptions.ConnectTimeout"/> with a <see cref="TimeoutException"/>.
/// </remarks>
public sealed class WibeSocketClient
{
    // Each read asks for at least this much room: a 16 KiB message arrives in two reads at most.
    private const int ReceiveBufferSize = 64 * 1024;
    private const int MinimumReadSize = 16 * 1024;

    private static long s_connections;

    private WibeSocketRuntime? _runtime;

    /// <summary>Creates a client that connects with <paramref name="options"/>.</summary>
    public WibeSocketClient(WibeSocketClientOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        Options = options;
    }

    /// <summary>The options every connection of this client uses.</summary>
    public WibeSocketClientOptions Options { get; }

    /// <summary>Connects to <paramref name="uri"/> with this client's <see cref="Options"/>.</summary>
    /// <inheritdoc cref="ConnectAsync(Uri, WibeSocketClientOptions?, CancellationToken)"/>
    /// <remarks>
    /// The connections of one client share one heartbeat (keep-alive and close deadlines), logger and meters, made from
    /// <see cref="Options"/> on the first connection.
    /// </remarks>
    public Task<WibeSocketClientConnection> ConnectAsync(Uri uri, CancellationToken cancellationToken = default)
    {
        var runtime = LazyInitializer.EnsureInitialized(ref _runtime, () => ClientRuntime.For(Options, out _));
        return ConnectCoreAsync(uri, Options, runtime, cancellationToken);
    }

    /// <summary>Connects to <paramref name="uri"/> (<c>ws://</c> or <c>wss://</c>) and returns the open connection.</summary>
    /// <exception cref="ArgumentException">The URI or a header in the options is invalid: no connection was attempted.</exception>
    /// <exception cref="WibeSocketUpgradeException">The server refused the upgrade or answered with something a client must refuse.</exception>
    /// <exception cref="TimeoutException">The connection and handshake took longer than <see cref="WibeSocketClientOptions.ConnectTimeout"/>.</exception>
    /// <exception cref="SocketException">The TCP connection could not be made (refused, unreachable, name not found).</exception>
    /// <exception cref="System.Security.Authentication.AuthenticationException">The TLS handshake failed (the certificate was refused).</exception>
    public static Task<WibeSocketClientConnection> ConnectAsync(Uri uri, WibeSocketClientOptions? options = null, CancellationToken cancellationToken = default) =>
        ConnectCoreAsync(uri, options, sharedRuntime: null, cancellationToken);

    private static async Task<WibeSocketClientConnection> ConnectCoreAsync(Uri uri, WibeSocketClientOptions? options, WibeSocketRuntime? sharedRuntime, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(uri);
        options ??= new WibeSocketClientOptions();
        options.Validate();
        var offer = PerMessageDeflateClientOffer.FromOptions(options.Compression);
        var request = new WebSocketClientRequest
        {
            Uri = uri,
            Key = WebSocketAccept.CreateClientKey(),
            Origin = options.Origin,
            SubProtocols = [.. options.SubProtocols],
            Extensions = offer?.ToHeaderValue(),
            Headers = [.. options.Headers],
        };

        // An invalid URI or header fails before any connection attempt (RFC 6455 section 4.1).
        request.Validate();

        using var timeout = options.ConnectTimeout == Timeout.InfiniteTimeSpan
            ? new CancellationTokenSource()
            : new CancellationTokenSource(options.ConnectTimeout, options.TimeProvider);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, timeout.Token);
        var token = linked.Token;

        Socket? socket = null;
        Stream? stream = null;
        PipeReader? input = null;
        PipeWriter? output = null;
        try
        {
            socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
            if (uri.HostNameType is UriHostNameType.IPv4 or UriHostNameType.IPv6)
            {
                await socket.ConnectAsync(IPAddress.Parse(uri.DnsSafeHost), uri.Port, token).ConfigureAwait(false);
            }
            else
            {
                await socket.ConnectAsync(uri.IdnHost, uri.Port, token).ConfigureAwait(false);
            }

            stream = new NetworkStream(socket, ownsSocket: true);
            if (uri.Scheme == Uri.UriSchemeWss)
            {
                var ssl = new SslStream(stream, leaveInnerStreamOpen: false);
                stream = ssl;
                await ssl.AuthenticateAsClientAsync(
                    new SslClientAuthenticationOptions
                    {
                        // SNI and the name the certificate must carry.
                        TargetHost = uri.IdnHost,
                        RemoteCertificateValidationCallback = options.RemoteCertificateValidationCallback,
                        ApplicationProtocols = [SslApplicationProtocol.Http11],
                    },
                    token).ConfigureAwait(false);
            }

            // The receive side is a Pipe filled by a loop of our own, as Kestrel's socket transport does, not a
            // StreamPipeReader: the runtime wakes its read loop with CancelPendingRead each time a borrowed message is
            // released, which on a StreamPipeReader cancels the socket read underneath (an exception per round trip).
            // The pipe holds up to a whole message beyond the read-ahead budget: the runtime bounds what it buffers.
            long pause = options.MaxMessageSize + options.MaxReadAheadBytes + ReceiveBufferSize;
            var received = new Pipe(new PipeOptions(
                pauseWriterThreshold: pause,
                resumeWriterThreshold: pause / 2,
                minimumSegmentSize: MinimumReadSize,
                useSynchronizationContext: false));
            input = received.Reader;
            _ = ReceiveLoopAsync(stream, received.Writer);
            output = PipeWriter.Create(stream, new StreamPipeWriterOptions(leaveOpen: true));

            Http1RequestWriter.WriteUpgradeRequest(output, request);
            await output.FlushAsync(token).ConfigureAwait(false);

            var response = await ReadResponseAsync(uri, input, token).ConfigureAwait(false);
            var result = WebSocketResponseValidator.Validate(response, request, offer);
            if (!result.IsValid)
            {
                throw new WibeSocketUpgradeException(uri, result, response);
            }

            var connection = Start(uri, options, sharedRuntime, socket, stream, input, output, response, result);
            socket = null;
            stream = null;
            return connection;
        }
        catch (OperationCanceledException ex) when (timeout.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
        {
            throw new TimeoutException(
                string.Create(CultureInfo.InvariantCulture, $"Connecting to {uri.GetLeftPart(UriPartial.Path)} took longer than the connect timeout ({options.ConnectTimeout.TotalSeconds:0.###} s)."),
                ex);
        }
        finally
        {
            if (stream is not null)
            {
                await stream.DisposeAsync().ConfigureAwait(false);
            }

            socket?.Dispose();
        }
    }

    // Copies what arrives on the stream into the pipe until the peer closes, the stream fails, or the reader completes.
    private static async Task ReceiveLoopAsync(Stream stream, PipeWriter writer)
    {
        Exception? error = null;
        try
        {
            while (true)
            {
                var memory = writer.GetMemory(MinimumReadSize);
                int read = await stream.ReadAsync(memory).ConfigureAwait(false);
                if (read == 0)
                {
                    break;
                }

                writer.Advance(read);
                var flush = await writer.FlushAsync().ConfigureAwait(false);
                if (flush.IsCompleted || flush.IsCanceled)
                {
                    break;
                }
            }
        }
        catch (Exception ex) when (ex is IOException or ObjectDisposedException or OperationCanceledException or SocketException or InvalidOperationException)
        {
            // The connection was aborted or reset: the reader sees the failure as the end of the transport.
            error = ex;
        }

        await writer.CompleteAsync(error).ConfigureAwait(false);
    }

    // Reads the response head; the bytes after it (frames the server sent at once) stay in the reader for the runtime.
    private static async Task<Http1ResponseHead> ReadResponseAsync(Uri uri, PipeReader input, CancellationToken token)
    {
        var parser = new Http1ResponseHeadParser();
        while (true)
        {
            var read = await input.ReadAsync(token).ConfigureAwait(false);
            var buffer = read.Buffer;
            var status = parser.TryParse(ref buffer, out var head, out var error);
            switch (status)
            {
                case Http1ParseStatus.Done:
                    input.AdvanceTo(buffer.Start);
                    return head!;
                case Http1ParseStatus.NeedMoreData:
                    if (read.IsCompleted)
                    {
                        throw new WibeSocketUpgradeException(uri, endOfStream: true);
                    }

                    input.AdvanceTo(buffer.Start, buffer.End);
                    break;
                default:
                    throw new WibeSocketUpgradeException(uri, status, error);
            }
        }
    }

    private static WibeSocketClientConnection Start(
        Uri uri,
        WibeSocketClientOptions options,
        WibeSocketRuntime? sharedRuntime,
        Socket socket,
        Stream stream,
        PipeReader input,
        PipeWriter output,
        Http1ResponseHead response,
        WebSocketResponseValidationResult result)
    {
        bool ownsRuntime = false;
        var runtime = sharedRuntime ?? ClientRuntime.For(options, out ownsRuntime);
        var compressionOptions = result.PerMessageDeflate is null ? null : options.Compression with { };
        var setup = new ConnectionSetup
        {
            Transport = new DuplexPipe(input, output),
            ConnectionId = string.Create(CultureInfo.InvariantCulture, $"client-{Interlocked.Increment(ref s_connections)}"),
            Limits = CreateLimits(options),
            Runtime = runtime,
            Role = WebSocketRole.Client,
            TransportName = "client",
            SubProtocol = result.SubProtocol,
            RemoteEndPoint = socket.RemoteEndPoint,
            Compression = result.PerMessageDeflate,
            CompressionOptions = compressionOptions,
            OwnsTransport = true,
            AbortTransport = () => socket.Dispose(),
        };

        var released = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        WibeSocket? inner = null;

        // The runtime calls the handler before RunAsync returns; the handler only holds the connection open while the
        // caller drives the socket.
        var run = WibeSocketConnection.RunAsync(setup, (socket, _) =>
        {
            inner = socket;
            return released.Task;
        });
        var completion = FinishAsync(run, stream, runtime, ownsRuntime);
        return new WibeSocketClientConnection(inner ?? throw new InvalidOperationException("The runtime did not start the connection."), released, completion, uri, response, result.PerMessageDeflate);
    }

    private static async Task FinishAsync(Task run, Stream stream, WibeSocketRuntime runtime, bool ownsRuntime)
    {
        try
        {
            await run.ConfigureAwait(false);
        }
        finally
        {
            // The runtime has completed both pipe ends; the stream (and the socket it owns) is ours to release.
            await stream.DisposeAsync().ConfigureAwait(false);
            if (ownsRuntime)
            {
                runtime.Heartbeat.Dispose();
            }
        }
    }

    private static ConnectionLimits CreateLimits(WibeSocketClientOptions options) =>
        ConnectionLimits.ForClient(options.MaxMessageSize, options.MaxReadAheadBytes, options.KeepAliveInterval, options.KeepAliveTimeout, options.CloseTimeout);

}
