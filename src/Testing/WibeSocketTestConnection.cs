using System.Buffers;
using System.Globalization;
using Shockwave.Protocol;
using Shockwave.Protocol.Compression;
using Shockwave.Runtime;

namespace Shockwave.Testing;

/// <summary>
/// An open WebSocket connection to the app under test that behaves like a production client: Shockwave's connection
/// runtime in the client role runs it over the in-memory pipe. Frames are masked, pings are answered as they arrive
/// (they are not surfaced), fragmented and compressed messages come out whole and inflated, the server's protocol
/// violations fail the connection with their close code (RFC 6455 section 7.1.7), and the close handshake is bounded by
/// the client's <see cref="WibeSocketTestClient.Timeout"/>. Dispose it to drop the connection.
/// </summary>
/// <remarks>
/// <para>
/// Every operation honours its <see cref="CancellationToken"/> and fails with a <see cref="TimeoutException"/> after
/// <see cref="WibeSocketTestConnectionBase.Timeout"/>. Sends may run concurrently with each other and with one receive;
/// receives may not overlap. A cancelled receive loses nothing; cancelling a send that has started writing aborts the
/// connection, as on any <see cref="WibeSocket"/>.
/// </para>
/// <para>
/// To send broken frames, read raw frames, see pings and pongs, or answer them by hand, use
/// <see cref="WibeSocketTestClient.ConnectRawAsync(string, CancellationToken)"/> instead.
/// </para>
/// </remarks>
public sealed class WibeSocketTestConnection : WibeSocketTestConnectionBase
{
    // Longer than any test waits for a close, and within what the runtime's timed waits accept.
    private static readonly TimeSpan LongestCloseTimeout = TimeSpan.FromHours(1);
    private static long s_connections;

    private readonly ServerFrameTap _tap;
    private readonly TapSocket _socket;
    private readonly Task _run;

    // Completes the runtime's handler. The runtime releases the messages still queued when its handler returns, so the
    // handler waits until the test has been handed the close (the queue is drained), closes, or drops the connection.
    private readonly TaskCompletionSource _released = new(TaskCreationOptions.RunContinuationsAsynchronously);

    internal WibeSocketTestConnection(UpgradedConnection connection)
        : base(connection)
    {
        var settings = connection.Settings;
        _tap = new ServerFrameTap(connection.Input);
        var setup = new ConnectionSetup
        {
            Transport = new DuplexPipe(_tap, connection.Output),
            ConnectionId = string.Create(CultureInfo.InvariantCulture, $"test-client-{Interlocked.Increment(ref s_connections)}"),
            Limits = CreateLimits(settings),
            Runtime = StandaloneRuntime.Shared, // no logging and meters of its own: the client never shows in the app's logs or metrics
            Role = WebSocketRole.Client,
            TransportName = "in-memory",
            SubProtocol = SubProtocol,
            Compression = connection.Deflate,
            CompressionOptions = connection.Deflate is null ? null : new PerMessageDeflateOptions { Enabled = true },
            OwnsTransport = true,
        };

        // The runtime calls the handler before RunAsync returns. The handler only holds the connection open: the test
        // drives the socket.
        WibeSocket? socket = null;
        _run = WibeSocketConnection.RunAsync(setup, (runtimeSocket, _) =>
        {
            socket = runtimeSocket;
            return _released.Task;
        });
        _socket = new TapSocket(socket ?? throw new InvalidOperationException("The runtime did not start the connection."), _tap, () => _released.TrySetResult());
    }

    /// <summary>
    /// The connection as a <see cref="WibeSocket"/>, the type a server handler gets: <c>ReadMessagesAsync</c>,
    /// <c>BeginMessageAsync</c> for a message sent in parts, <c>State</c>, and <c>CloseStatus</c> (the status the
    /// server's close carried, or the one the client failed the connection with). Its operations are not bounded by
    /// <see cref="WibeSocketTestConnectionBase.Timeout"/>, and its received payloads are borrowed until the next receive.
    /// </summary>
    public WibeSocket Socket => _socket;

    /// <summary>Sends a text message (compressed when permessage-deflate was negotiated and it is long enough to gain).</summary>
    /// <exception cref="WibeSocketClosedException">The connection is closing or closed.</exception>
    public Task SendTextAsync(string text, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(text);
        ThrowIfDisposed();
        return RunAsync(token => _socket.SendTextAsync(text, token).AsTask(), "Sending a text message", cancellationToken);
    }

    /// <summary>Sends a binary message (compressed when permessage-deflate was negotiated and it is long enough to gain).</summary>
    /// <exception cref="WibeSocketClosedException">The connection is closing or closed.</exception>
    public Task SendBinaryAsync(ReadOnlyMemory<byte> data, CancellationToken cancellationToken = default)
    {
        ThrowIfDisposed();
        return RunAsync(token => _socket.SendAsync(data, WibeSocketMessageType.Binary, token).AsTask(), "Sending a binary message", cancellationToken);
    }

    /// <summary>
    /// Receives the next whole data message, copied so that it outlives the next receive. Once the connection has ended,
    /// returns the server's close instead (see <see cref="CloseAsync"/>), every time.
    /// </summary>
    public Task<WibeSocketTestMessage> ReceiveAsync(CancellationToken cancellationToken = default)
    {
        ThrowIfDisposed();
        return RunAsync(ReceiveCoreAsync, "Receiving a message", cancellationToken);
    }

    /// <summary>
    /// The closing handshake from the client's side (RFC 6455 section 7.1.2): sends a close frame (unless the connection
    /// is already closing), waits for the server's, discarding any messages before it, and for the connection to end,
    /// then returns the server's close: its status and reason, or <see cref="WebSocketCloseStatus.AbnormalClosure"/>
    /// (1006, RFC 6455 section 7.1.5) with <see cref="WibeSocketTestMessage.FrameCount"/> 0 when the connection ended
    /// without one. After the server closed first, returns its close at once.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">The status may not be sent (1005, 1006, 1015 and unassigned codes; RFC 6455 section 7.4).</exception>
    public Task<WibeSocketTestMessage> CloseAsync(WebSocketCloseStatus status = WebSocketCloseStatus.NormalClosure, string? reason = null, CancellationToken cancellationToken = default)
    {
        ThrowIfDisposed();
        if (!CloseStatusRules.IsValidOnWire(status))
        {
            throw new ArgumentOutOfRangeException(nameof(status), status, "The close status is not valid on the wire (RFC 6455 section 7.4).");
        }

        return RunAsync(
            async token =>
            {
                await _socket.CloseAsync(status, reason, token).ConfigureAwait(false);
                return await ServerCloseAsync(token).ConfigureAwait(false);
            },
            "The closing handshake",
            cancellationToken);
    }

    private protected override async ValueTask DropAsync()
    {
        if (!_run.IsCompleted)
        {
            _socket.Abort();
        }

        _released.TrySetResult();

        // The runtime completes both pipe ends as it ends; after an abort that is at once.
        try
        {
            await _run.WaitAsync(TimeSpan.FromSeconds(10)).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
        }

        WaitForReceiveToExit();
    }

    // A client does not ping (browsers do not); the server's keep-alive pings are answered.
    private static ConnectionLimits CreateLimits(ConnectionSettings settings) => ConnectionLimits.ForClient(
        settings.MaxMessageSize,
        settings.TransportBufferSize,
        keepAliveInterval: TimeSpan.Zero,
        keepAliveTimeout: TimeSpan.Zero,
        closeTimeout: settings.Timeout == System.Threading.Timeout.InfiniteTimeSpan || settings.Timeout > LongestCloseTimeout ? LongestCloseTimeout : settings.Timeout);

    private async Task<WibeSocketTestMessage> ReceiveCoreAsync(CancellationToken cancellationToken)
    {
        EnterReceive();
        try
        {
            var message = await _socket.ReceiveAsync(cancellationToken).ConfigureAwait(false);
            ThrowIfDisposed();
            if (message.IsClose)
            {
                return await ServerCloseAsync(cancellationToken).ConfigureAwait(false);
            }

            var frames = _socket.LastMessage;
            return new WibeSocketTestMessage(message.Type, message.ToArray(), frames.FrameCount, frames.Compressed, inflated: true);
        }
        finally
        {
            ExitReceive();
        }
    }

    // Waits for the connection to end, so that what the server sent last (its close, or nothing) is known and the
    // socket's state and close status are final, then reports the server's close.
    private async Task<WibeSocketTestMessage> ServerCloseAsync(CancellationToken cancellationToken)
    {
        _released.TrySetResult();
        await _run.WaitAsync(cancellationToken).ConfigureAwait(false);
        if (ReceivedClose is { } received)
        {
            return received;
        }

        if (_tap.ClosePayload is not { } payload)
        {
            return SetReceivedClose(new WibeSocketTestMessage(WibeSocketMessageType.Close, [], frameCount: 0, closeStatus: WebSocketCloseStatus.AbnormalClosure, closeReason: string.Empty));
        }

        var (status, reason) = ClosePayload.Parse(new ReadOnlySequence<byte>(payload));
        return SetReceivedClose(new WibeSocketTestMessage(WibeSocketMessageType.Close, payload.ToArray(), frameCount: 1, closeStatus: status, closeReason: reason));
    }

}
