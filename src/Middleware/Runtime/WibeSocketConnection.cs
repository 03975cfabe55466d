using System.Diagnostics;
using System.IO.Pipelines;
using System.Net;
using System.Security.Claims;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Shockwave.Diagnostics;
using Shockwave.Protocol;

namespace Shockwave.Runtime;

/// <summary>
/// The connection runtime: one per WebSocket, over any <see cref="IDuplexPipe"/>. It owns the read loop (pings
/// answered and closes processed while the handler is busy), delivers whole messages to the handler (in place when a
/// message arrived whole, assembled in pooled memory otherwise), serializes sends, and runs the close handshake.
/// </summary>
[System.Diagnostics.CodeAnalysis.SuppressMessage("Design", "CA1001", Justification = "The connection's lifetime is RunAsync, which releases its resources in EndAsync.")]
internal sealed partial class WibeSocketConnection : WibeSocket
{
    private readonly ConnectionSetup _setup;
    private readonly WibeSocketOptions _options;
    private readonly ILogger _logger;
    private readonly WibeSocketMetrics _metrics;
    private readonly TimeProvider _time;
    private readonly PipeReader _input;
    private readonly PipeWriter _output;
    private readonly CancellationTokenSource _closedCts = new();
    private readonly TaskCompletionSource _peerCloseReceived = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly Lock _gate = new();
    private readonly long _openedAt;

    private Dictionary<object, object?>? _items;
    // Written under _gate; read without it on the send path (volatile: every read sees the latest write).
    private volatile WibeSocketState _state = WibeSocketState.Open;
    private WebSocketCloseStatus? _closeStatus;
    private string? _closeDescription;
    private string _closeReason = CloseReasons.TransportEnded;
    private long _closeSentAt;
    private long _closeReceivedAt;
    private int _aborted;

    private WibeSocketConnection(ConnectionSetup setup)
    {
        _setup = setup;
        _options = setup.Options;
        _logger = setup.Runtime.Logger;
        _metrics = setup.Runtime.Metrics;
        _time = setup.Runtime.TimeProvider;
        _input = setup.Transport.Input;
        _output = setup.Transport.Output;
        _openedAt = _time.GetTimestamp();
        _lastReceivedAt = _openedAt;
        _scheduledFlush = new ScheduledFlush(this);
        _frameReader = new WebSocketFrameReader(WebSocketRole.Server, _options.ToFrameReaderOptions(setup.Compression is not null));
        InitializeCompression();
    }

    public override string ConnectionId => _setup.ConnectionId;

    public override ClaimsPrincipal User => _setup.User;

    public override string? SubProtocol => _setup.SubProtocol;

    // Built on demand from the request on the MapWibeSocket path: an idle connection need not carry it.
    public override EndPoint? RemoteEndPoint => _setup.RemoteEndPoint
        ?? (_setup.HttpContext?.Connection is { RemoteIpAddress: { } ip } connection ? new IPEndPoint(ip, connection.RemotePort) : null);

    public override IDictionary<object, object?> Items => _items ??= [];

    public override HttpContext? HttpContext => _setup.HttpContext;

    public override CancellationToken ConnectionClosed => _closedCts.Token;

    public override WibeSocketState State => _state;

    public override WebSocketCloseStatus? CloseStatus => _closeStatus;

    public override string? CloseStatusDescription => _closeDescription;

    /// <summary>
    /// Runs a connection from the 101 to the end: the read loop in the background, the handler in the foreground, then
    /// the close handshake. Never throws for anything the peer did; returns when the connection has ended.
    /// </summary>
    // Not async itself: every async frame still pending is one more object an idle connection keeps alive.
    public static Task RunAsync(ConnectionSetup setup, Func<WibeSocket, CancellationToken, Task> handler) =>
        new WibeSocketConnection(setup).RunCoreAsync(handler);

    private async Task RunCoreAsync(Func<WibeSocket, CancellationToken, Task> handler)
    {
        var runtime = _setup.Runtime;
        _metrics.ConnectionOpened();
        Log.ConnectionOpened(_logger, ConnectionId, SubProtocol, _setup.Compression is not null, _setup.TransportName);
        runtime.Heartbeat.Register(this);
        using var stopping = runtime.ApplicationStopping.UnsafeRegister(static s => ((WibeSocketConnection)s!).OnServerStopping(), this);

        // Started inline rather than through Task.Run (a delegate and a wrapper task more per connection): the loop
        // runs here only until its first read is pending, or through what already arrived, before the handler starts.
        Task receiveLoop = ReceiveLoopAsync();
        try
        {
            await handler(this, _closedCts.Token).ConfigureAwait(false);
            if (State == WibeSocketState.Open)
            {
                _closeReason = CloseReasons.ServerClosed;
            }

            // A handler that returns while the connection is open ends it with a normal close (RFC 6455 section 7.1.2).
            await CloseAsync(WebSocketCloseStatus.NormalClosure, null, CancellationToken.None).ConfigureAwait(false);
        }
        catch (WibeSocketClosedException ex) when (State != WibeSocketState.Open)
        {
            // The handler raced the close (the peer's, a failure's, or an abort) with a send: an ordinary end.
            Log.HandlerStoppedByClose(_logger, ConnectionId, ex.State);
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !_closedCts.IsCancellationRequested)
        {
            Log.HandlerFailed(_logger, ConnectionId, ex);
            _closeReason = CloseReasons.HandlerFailed;
            await CloseAsync(WebSocketCloseStatus.InternalServerError, null, CancellationToken.None).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            // The handler observed ConnectionClosed: the connection already ended.
        }
        finally
        {
            await receiveLoop.ConfigureAwait(false);
            runtime.Heartbeat.Unregister(this);
            await EndAsync().ConfigureAwait(false);
            _metrics.ConnectionClosed(_closeReason, _time.GetElapsedTime(_openedAt));
            Log.ConnectionClosed(_logger, ConnectionId, _closeReason, _closeStatus);
        }
    }

    public override async ValueTask CloseAsync(WebSocketCloseStatus status = WebSocketCloseStatus.NormalClosure, string? reason = null, CancellationToken cancellationToken = default)
    {
        if (!CloseStatusRules.IsValidOnWire(status))
        {
            throw new ArgumentOutOfRangeException(nameof(status), status, "The close status is not valid on the wire (RFC 6455 section 7.4).");
        }

        await SendCloseAsync(status, reason, CloseReasons.ServerClosed).ConfigureAwait(false);

        // Section 7.1.1: after sending a close, wait for the peer's close; the heartbeat aborts after CloseTimeout.
        try
        {
            await _peerCloseReceived.Task.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (_peerCloseReceived.Task.IsCompleted)
        {
            // The handshake ended (or the connection was aborted) and ConnectionClosed fired at the same moment: a
            // handler passing that token must see CloseAsync complete, not a cancellation.
        }
    }

    public override void Abort() => AbortCore(CloseReasons.Aborted);

    /// <summary>Called by the shared heartbeat about once a second.</summary>
    internal void OnHeartbeat(long now)
    {
        WibeSocketState state;
        long closeSentAt;
        long closeReceivedAt;
        lock (_gate)
        {
            state = _state;
            closeSentAt = _closeSentAt;
            closeReceivedAt = _closeReceivedAt;
        }

        if (state is WibeSocketState.Closed or WibeSocketState.Aborted)
        {
            return;
        }

        // A close handshake in either direction ends within CloseTimeout: after our close we wait for theirs, and after
        // theirs our reply may be stuck behind a peer that stopped reading.
        bool closeOverdue =
            (state == WibeSocketState.CloseSent && _time.GetElapsedTime(closeSentAt, now) >= _options.CloseTimeout)
            || (state == WibeSocketState.CloseReceived && _time.GetElapsedTime(closeReceivedAt, now) >= _options.CloseTimeout);
        if (closeOverdue)
        {
            Log.CloseTimeout(_logger, ConnectionId, _options.CloseTimeout);
            AbortCore(CloseReasons.CloseTimeout);
            return;
        }

        if (state == WibeSocketState.Open)
        {
            CheckKeepAlive(now);
        }
    }

    private void OnServerStopping()
    {
        Log.ServerStopping(_logger, ConnectionId);
        _ = SendCloseAsync(WebSocketCloseStatus.EndpointUnavailable, "server stopping", CloseReasons.ServerShutdown).AsTask();
    }

    /// <summary>
    /// Moves to CloseSent and writes our close frame, once. When the peer's close already arrived this does nothing:
    /// the read loop has answered it.
    /// </summary>
    private async ValueTask SendCloseAsync(WebSocketCloseStatus status, string? reason, string closeReason)
    {
        lock (_gate)
        {
            if (_state != WibeSocketState.Open)
            {
                return;
            }

            _state = WibeSocketState.CloseSent;
            _closeSentAt = _time.GetTimestamp();
            _closeStatus ??= status;
            _closeDescription ??= reason;
            if (_closeReason == CloseReasons.TransportEnded)
            {
                _closeReason = closeReason;
            }
        }

        await WriteControlFrameAsync(ControlFrameKind.Close, status, reason).ConfigureAwait(false);
    }

    private void AbortCore(string closeReason)
    {
        if (Interlocked.Exchange(ref _aborted, 1) != 0)
        {
            return;
        }

        lock (_gate)
        {
            if (_state != WibeSocketState.Closed)
            {
                _state = WibeSocketState.Aborted;
                _closeReason = closeReason;
                _closeStatus ??= WebSocketCloseStatus.AbnormalClosure;
            }
        }

        _peerCloseReceived.TrySetResult();
        if (_setup.AbortTransport is { } abortTransport)
        {
            abortTransport();
        }
        else
        {
            _setup.HttpContext?.Abort();
        }

        // Wake the read loop; it sees the abort flag and stops.
        _input.CancelPendingRead();
        SignalClosedToReceiver();
        TryCancelClosedToken();
    }

    private void TryCancelClosedToken()
    {
        try
        {
            _closedCts.Cancel();
        }
        catch (ObjectDisposedException)
        {
        }
        catch (AggregateException ex)
        {
            // A callback the application registered on ConnectionClosed threw; the connection still ends.
            Log.HandlerFailed(_logger, ConnectionId, ex);
        }
    }

    private async ValueTask EndAsync()
    {
        lock (_gate)
        {
            if (_state is WibeSocketState.CloseSent or WibeSocketState.CloseReceived or WibeSocketState.Open)
            {
                _state = _peerCloseReceived.Task.IsCompleted && _closeSentAt != 0 ? WibeSocketState.Closed : WibeSocketState.Aborted;
            }
        }

        TryCancelClosedToken();
        ReleaseReceiveBuffers();

        // A frame may still be on its way out (a close reply, a failure's close written from the handler's side). Wait
        // for it, bounded, before the transport is completed (by us, or by Kestrel once the handler returns) and
        // before the codec it may be using is disposed. Sends arriving later see the final state and are refused.
        bool locked = Volatile.Read(ref _aborted) == 0
            && await _frameLock.WaitAsync(_options.CloseTimeout).ConfigureAwait(false);
        try
        {
            if (locked)
            {
                await _output.FlushAsync().ConfigureAwait(false);
            }
        }
        catch (Exception ex) when (IsTransportException(ex))
        {
            Log.TransportEnded(_logger, ConnectionId, ex.Message);
        }
        finally
        {
            DisposeCompression();
            if (_setup.OwnsTransport)
            {
                await _output.CompleteAsync().ConfigureAwait(false);
                await _input.CompleteAsync().ConfigureAwait(false);
            }

            if (locked)
            {
                _frameLock.Release();
            }
        }

        // The two SemaphoreSlims are left to the GC: they own no handle (AvailableWaitHandle is never used), and a
        // deferred flush or owed control frame may still release one after the connection ended.
        _closedCts.Dispose();
        Debug.Assert(_state is WibeSocketState.Closed or WibeSocketState.Aborted);
    }
}
