using System.Buffers;
using System.Net;
using System.Security.Claims;
using Microsoft.Extensions.Logging;
using Shockwave.Diagnostics;
using Shockwave.Protocol;
using Shockwave.Protocol.Compression;

namespace Shockwave.Runtime;

/// <summary>
/// The connection runtime: one per WebSocket, over any <see cref="System.IO.Pipelines.IDuplexPipe"/>, in either role. A
/// composition of focused parts: the <see cref="ReadLoop"/> parses what arrives, the <see cref="InboundQueue"/> hands
/// whole messages to the handler, the <see cref="OutboundWriter"/> sends, the <see cref="CloseHandshake"/> tracks the
/// close, and <see cref="KeepAlive"/> pings a silent peer. This type wires them together and runs the handler.
/// </summary>
[System.Diagnostics.CodeAnalysis.SuppressMessage("Design", "CA1001", Justification = "The connection's lifetime is RunAsync, which releases its resources in EndAsync.")]
internal sealed class WibeSocketConnection : WibeSocket, IAbortable, IInboundOwner
{
    private readonly ConnectionSetup _setup;
    private readonly ILogger _logger;
    private readonly WibeSocketMetrics _metrics;
    private readonly TimeProvider _time;
    private readonly CancellationTokenSource _closedCts = new();
    private readonly long _openedAt;
    private readonly Lock _gate = new();
    private KeepAlive _keepAlive; // a mutable struct: only ever used in place
    private readonly ReadLoop _readLoop;
    private Dictionary<object, object?>? _items;
    private int _slowConsumerSeen;

    private WibeSocketConnection(ConnectionSetup setup)
    {
        _setup = setup;
        _logger = setup.Runtime.Logger;
        _metrics = setup.Runtime.Metrics;
        _time = setup.Runtime.TimeProvider;
        _openedAt = _time.GetTimestamp();
        var limits = setup.Limits;

        Close = new CloseHandshake(_time, _gate);
        _keepAlive = new KeepAlive(_time, limits.KeepAliveInterval, limits.KeepAliveTimeout, _openedAt);
        Inbound = new InboundQueue(setup.Transport.Input, _metrics, limits.MaxReadAheadBytes, _gate, this);

        PerMessageDeflateCompressor? compressor = null;
        PerMessageDeflateDecompressor? decompressor = null;
        if (setup.Compression is { } parameters)
        {
            // The endpoint's options choose the codec (runtime or system zlib), its level and memory level.
            var options = setup.CompressionOptions ?? new PerMessageDeflateOptions();
            compressor = new PerMessageDeflateCompressor(parameters, options, setup.Role);
            decompressor = new PerMessageDeflateDecompressor(parameters, options, limits.MaxMessageSize, setup.Role);
        }

        Outbound = new OutboundWriter(setup.Transport.Output, setup.Role, Close, this, _gate, _logger, setup.ConnectionId, _metrics, compressor, setup.CompressionOptions, limits.MaxQueuedBytes);
        _readLoop = new ReadLoop(this, new WebSocketFrameReader(setup.Role, setup.Compression is null ? limits.Reader : limits.CompressedReader), decompressor);
    }

    public override string ConnectionId => _setup.ConnectionId;

    public override ClaimsPrincipal User => _setup.User;

    public override string? SubProtocol => _setup.SubProtocol;

    public override EndPoint? RemoteEndPoint => _setup.RemoteEndPoint
        ?? (_setup.HostContext is { } host && _setup.ResolveRemoteEndPoint is { } resolve ? resolve(host) : null);

    public override IDictionary<object, object?> Items => _items ??= [];

    public override CancellationToken ConnectionClosed => _closedCts.Token;

    public override WibeSocketState State => Close.State;

    public override WebSocketCloseStatus? CloseStatus => Close.Status;

    public override string? CloseStatusDescription => Close.Description;

    /// <summary>The host's own context (the upgrade's HttpContext on the endpoint-routing path).</summary>
    internal object? HostContext => _setup.HostContext;

    internal ConnectionSetup Setup => _setup;

    /// <summary>What the host keeps with the connection (the server's group memberships), created on first use.</summary>
    internal object? HostState { get; set; }

    internal ILogger Logger => _logger;

    internal TimeProvider Time => _time;

    internal CloseHandshake Close { get; }

    internal InboundQueue Inbound { get; }

    internal OutboundWriter Outbound { get; }

    /// <summary>True the first time only: a slow consumer is logged once per connection, however many messages it misses.</summary>
    internal bool TryMarkSlowConsumer() => Interlocked.Exchange(ref _slowConsumerSeen, 1) == 0;

    /// <summary>The connection's one lock, shared by its parts.</summary>
    internal Lock Gate => _gate;

    /// <summary>The read loop saw bytes arrive: the peer is alive.</summary>
    internal void OnBytesReceived() => _keepAlive.OnReceived(_time.GetTimestamp());

    /// <summary>
    /// Runs a connection from the 101 to the end: the read loop in the background, the handler in the foreground, then
    /// the close handshake. Never throws for anything the peer did; returns when the connection has ended.
    /// </summary>
    // Not async itself: every async frame still pending is one more object an idle connection keeps alive.
    public static Task RunAsync(ConnectionSetup setup, Func<WibeSocket, CancellationToken, Task> handler) =>
        new WibeSocketConnection(setup).RunCoreAsync(handler);

    public override ValueTask<WibeSocketMessage> ReceiveAsync(CancellationToken cancellationToken = default)
    {
        if (Inbound.TryReceive(out var message))
        {
            return ValueTask.FromResult(message);
        }

        // About to wait: what this handler sent in its burst leaves now rather than after a thread hop.
        Outbound.FlushPendingNow();
        return Inbound.WaitAsync(cancellationToken, _closedCts.Token);
    }

    public override ValueTask SendAsync(ReadOnlyMemory<byte> payload, WibeSocketMessageType type, CancellationToken cancellationToken = default) =>
        Outbound.SendAsync(new ReadOnlySequence<byte>(payload), type, cancellationToken);

    public override ValueTask SendAsync(ReadOnlySequence<byte> payload, WibeSocketMessageType type, CancellationToken cancellationToken = default) =>
        Outbound.SendAsync(payload, type, cancellationToken);

    public override ValueTask<WibeSocketMessageWriter> BeginMessageAsync(WibeSocketMessageType type, CancellationToken cancellationToken = default) =>
        Outbound.BeginMessageAsync(type, cancellationToken);

    public override async ValueTask CloseAsync(WebSocketCloseStatus status = WebSocketCloseStatus.NormalClosure, string? reason = null, CancellationToken cancellationToken = default)
    {
        if (!CloseStatusRules.IsValidOnWire(status))
        {
            throw new ArgumentOutOfRangeException(nameof(status), status, "The close status is not valid on the wire (RFC 6455 section 7.4).");
        }

        await SendCloseAsync(status, reason, LocalCloseReason).ConfigureAwait(false);

        // Section 7.1.1: after sending a close, wait for the peer's close; the heartbeat aborts after CloseTimeout.
        try
        {
            await Close.PeerCloseReceived.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (Close.IsPeerCloseDone)
        {
            // The handshake ended (or the connection was aborted) and ConnectionClosed fired at the same moment: a
            // handler passing that token must see CloseAsync complete, not a cancellation.
        }
    }

    public override void Abort() => AbortCore(CloseReasons.Aborted);

    void IAbortable.Abort(string closeReason) => AbortCore(closeReason);

    // The handler has taken every message that preceded a failure: the failure's close frame may go out now.
    void IInboundOwner.OnCloseDelivered() => _readLoop.SendDeferredFailure();

    /// <summary>Called by the shared heartbeat about once a second.</summary>
    internal void OnHeartbeat(long now)
    {
        var state = Close.State;
        if (state is WibeSocketState.Closed or WibeSocketState.Aborted)
        {
            return;
        }

        if (Close.IsOverdue(now, _setup.Limits.CloseTimeout))
        {
            RuntimeLog.CloseTimeout(_logger, ConnectionId, _setup.Limits.CloseTimeout);
            AbortCore(CloseReasons.CloseTimeout);
            return;
        }

        if (state != WibeSocketState.Open)
        {
            return;
        }

        switch (_keepAlive.Check(now))
        {
            case KeepAliveAction.SendPing:
                Outbound.OwePing();
                break;
            case KeepAliveAction.TimedOut:
                RuntimeLog.KeepAliveTimeout(_logger, ConnectionId, _setup.Limits.KeepAliveTimeout);
                _ = Task.Run(() => AbortCore(CloseReasons.KeepAliveTimeout));
                break;
        }
    }

    /// <summary>The host is stopping (its token fired, or Kestrel cancelled the transport read): close with 1001.</summary>
    internal void OnServerStopping()
    {
        if (_setup.Runtime.ShutdownHandledByDrain)
        {
            // The drain closes this connection at its own moment in the window; keep serving until then.
            return;
        }

        RuntimeLog.ServerStopping(_logger, ConnectionId);
        _ = SendCloseAsync(WebSocketCloseStatus.EndpointUnavailable, "server stopping", CloseReasons.ServerShutdown).AsTask();
    }

    /// <summary>
    /// Moves to CloseSent and writes our close frame, once. When the peer's close already arrived this does nothing:
    /// the read loop has answered it.
    /// </summary>
    internal async ValueTask SendCloseAsync(WebSocketCloseStatus status, string? reason, string closeReason)
    {
        if (Close.TryBeginClose(status, reason, closeReason))
        {
            await Outbound.WriteCloseAsync(status, reason).ConfigureAwait(false);
        }
    }

    /// <summary>Both closes were exchanged (or the failed connection lingered long enough): the connection ends.</summary>
    internal void MarkClosed()
    {
        Close.MarkClosed();
        Inbound.Complete();
        TryCancelClosedToken();
    }

    internal void AbortCore(string closeReason)
    {
        if (!Close.TryAbort(closeReason))
        {
            return;
        }

        if (_setup.AbortTransport is { } abortTransport)
        {
            abortTransport();
        }
        else if (_setup.HostContext is { } host)
        {
            _setup.AbortHost?.Invoke(host);
        }

        // Wake the read loop; it sees the abort and stops.
        _setup.Transport.Input.CancelPendingRead();
        Inbound.Complete();
        TryCancelClosedToken();
    }

    /// <summary>The close reason when this end starts the close; <see cref="PeerCloseReason"/> when the other end does.</summary>
    private string LocalCloseReason => _setup.Role == WebSocketRole.Server ? CloseReasons.ServerClosed : CloseReasons.ClientClosed;

    internal string PeerCloseReason => _setup.Role == WebSocketRole.Server ? CloseReasons.ClientClosed : CloseReasons.ServerClosed;

    private async Task RunCoreAsync(Func<WibeSocket, CancellationToken, Task> handler)
    {
        var runtime = _setup.Runtime;
        _metrics.ConnectionOpened(_setup.EndpointName);
        RuntimeLog.ConnectionOpened(_logger, ConnectionId, SubProtocol, _setup.Compression is not null, _setup.TransportName);
        runtime.Heartbeat.Register(this);
        _setup.Observer?.OnOpened(this);
        using var stopping = runtime.Stopping.UnsafeRegister(static s => ((WibeSocketConnection)s!).OnServerStopping(), this);

        // Started inline rather than through Task.Run (a delegate and a wrapper task more per connection): the loop
        // runs here only until its first read is pending, or through what already arrived, before the handler starts.
        Task readLoop = _readLoop.RunAsync();
        try
        {
            await handler(this, _closedCts.Token).ConfigureAwait(false);
            if (State == WibeSocketState.Open)
            {
                Close.SetReasonIfUnset(LocalCloseReason);
            }

            // A handler that returns while the connection is open ends it with a normal close (RFC 6455 section 7.1.2).
            await CloseAsync(WebSocketCloseStatus.NormalClosure, null, CancellationToken.None).ConfigureAwait(false);
        }
        catch (WibeSocketClosedException ex) when (State != WibeSocketState.Open)
        {
            // The handler raced the close (the peer's, a failure's, or an abort) with a send: an ordinary end.
            RuntimeLog.HandlerStoppedByClose(_logger, ConnectionId, ex.State);
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !_closedCts.IsCancellationRequested)
        {
            RuntimeLog.HandlerFailed(_logger, ConnectionId, ex);
            Close.SetReason(CloseReasons.HandlerFailed);
            await CloseAsync(WebSocketCloseStatus.InternalServerError, null, CancellationToken.None).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            // The handler observed ConnectionClosed: the connection already ended.
        }
        finally
        {
            await readLoop.ConfigureAwait(false);
            runtime.Heartbeat.Unregister(this);
            _setup.Observer?.OnClosed(this);
            await EndAsync().ConfigureAwait(false);
            _metrics.ConnectionClosed(_setup.EndpointName, Close.Reason, Close.Status, _time.GetElapsedTime(_openedAt));
            RuntimeLog.ConnectionClosed(_logger, ConnectionId, Close.Reason, Close.Status);
        }
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
            RuntimeLog.HandlerFailed(_logger, ConnectionId, ex);
        }
    }

    private async ValueTask EndAsync()
    {
        Close.Finish();
        TryCancelClosedToken();
        Inbound.ReleaseAll();
        _readLoop.ReleaseBuffers();

        // A frame may still be on its way out (a close reply, a failure's close written from the handler's side). Wait
        // for it, bounded, before the transport is completed (by us, or by Kestrel once the handler returns) and
        // before the codec it may be using is disposed.
        await Outbound.FinishAsync(_setup.Limits.CloseTimeout, _setup.OwnsTransport).ConfigureAwait(false);
        _setup.InboundLimiter?.Dispose();
        if (_setup.OwnsTransport)
        {
            await _setup.Transport.Input.CompleteAsync().ConfigureAwait(false);
        }

        _closedCts.Dispose();
    }
}
