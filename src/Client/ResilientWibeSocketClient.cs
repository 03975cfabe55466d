using System.Buffers;
using System.Runtime.CompilerServices;
using System.Security.Authentication;
using Shockwave.Protocol;

namespace Shockwave.Client;

/// <summary>
/// A client connection that comes back: it connects to one URI, and when the connection ends in a way
/// <see cref="WibeSocketReconnectOptions"/> retries (a lost connection, 1001, 1011, 1012, 1013), it reconnects with backoff
/// and jitter, calls <see cref="OnReconnected"/> (to rejoin rooms, resubscribe), and carries on. Receives continue on the
/// new connection once the old one's messages and close have been received; sends wait while it reconnects.
/// </summary>
/// <remarks>
/// Messages are not replayed: what was in flight when a connection dropped is lost, as the application protocol must
/// expect. Receive (<see cref="ReceiveAsync"/> or <see cref="ReadMessagesAsync"/>) until the end: a connection is
/// released once its close has been received, or when this client is disposed.
/// </remarks>
public sealed class ResilientWibeSocketClient : IAsyncDisposable
{
    private readonly Uri _uri;
    private readonly WibeSocketClientOptions _options;
    private readonly WibeSocketReconnectOptions _reconnect;
    private readonly CancellationTokenSource _stop = new();
    private readonly Lock _gate = new();
    private readonly List<WibeSocketClientConnection> _connections = [];
    private readonly TaskCompletionSource _firstConnection = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private TaskCompletionSource<WibeSocketClientConnection?> _ready = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private TaskCompletionSource _changed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private Task? _run;
    private WibeSocketConnectionState _state;

    /// <summary>Creates a client for <paramref name="uri"/>; nothing connects until <see cref="StartAsync"/>.</summary>
    public ResilientWibeSocketClient(Uri uri, WibeSocketClientOptions options, WibeSocketReconnectOptions reconnect)
    {
        ArgumentNullException.ThrowIfNull(uri);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(reconnect);
        options.Validate();
        reconnect.Validate();
        _uri = uri;
        _options = options;
        _reconnect = reconnect;
    }

    /// <summary>Raised on every state change, on the thread that made it. A handler must not block.</summary>
    public event EventHandler<WibeSocketConnectionStateChangedEventArgs>? StateChanged;

    /// <summary>
    /// Runs after every reconnect (not the first connection) before the new connection is handed to senders and receivers:
    /// rejoin, resubscribe, authenticate. An exception drops the connection and counts as a failed attempt.
    /// </summary>
    public Func<WibeSocket, CancellationToken, Task>? OnReconnected { get; set; }

    /// <summary>Where the client is now.</summary>
    public WibeSocketConnectionState State => _state;

    /// <summary>The current connection, or null while connecting or reconnecting and once closed.</summary>
    public WibeSocketClientConnection? Current
    {
        get
        {
            lock (_gate)
            {
                return _ready.Task.IsCompletedSuccessfully ? _ready.Task.Result : null;
            }
        }
    }

    /// <summary>How many connections were opened (the first included).</summary>
    public int ConnectionCount { get; private set; }

    /// <summary>
    /// Connects, retrying as the options say, and completes once connected. Throws the last failure when the first
    /// connection cannot be made (a refusal that is not retried, or too many attempts).
    /// </summary>
    public async Task StartAsync(CancellationToken cancellationToken = default)
    {
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_run is not null && _stop.IsCancellationRequested, this);
            _run ??= Task.Run(() => RunAsync(_stop.Token), CancellationToken.None);
        }

        await _firstConnection.Task.WaitAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// The next message, from whichever connection is current. Returns a close message only when the client has stopped for
    /// good (<see cref="WibeSocketConnectionState.Closed"/>); a connection that ends and is replaced is invisible here.
    /// The payload is borrowed until the next receive, as on any <see cref="WibeSocket"/>.
    /// </summary>
    public async ValueTask<WibeSocketMessage> ReceiveAsync(CancellationToken cancellationToken = default)
    {
        WibeSocketClientConnection? connection = await NextConnectionAsync(null, cancellationToken).ConfigureAwait(false);
        while (connection is not null)
        {
            var message = await connection.ReceiveAsync(cancellationToken).ConfigureAwait(false);
            if (!message.IsClose)
            {
                return message;
            }

            var next = await NextConnectionAsync(connection, cancellationToken).ConfigureAwait(false);
            if (next is null)
            {
                return message;
            }

            connection = next;
        }

        // Stopped before any connection was made.
        return new WibeSocketMessage(WibeSocketMessageType.Close, ReadOnlySequence<byte>.Empty, null, 0);
    }

    /// <summary>Receives messages until the client stops for good.</summary>
    public async IAsyncEnumerable<WibeSocketMessage> ReadMessagesAsync([EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        while (true)
        {
            var message = await ReceiveAsync(cancellationToken).ConfigureAwait(false);
            if (message.IsClose)
            {
                yield break;
            }

            yield return message;
        }
    }

    /// <summary>Sends one message on the current connection, waiting while the client reconnects.</summary>
    /// <exception cref="WibeSocketClosedException">The client has stopped, or the connection ended during the send.</exception>
    public async ValueTask SendAsync(ReadOnlyMemory<byte> payload, WibeSocketMessageType type, CancellationToken cancellationToken = default)
    {
        var connection = await NextConnectionAsync(null, cancellationToken).ConfigureAwait(false)
            ?? throw new WibeSocketClosedException(WibeSocketState.Closed);
        await connection.SendAsync(payload, type, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Sends a text message on the current connection, waiting while the client reconnects.</summary>
    public async ValueTask SendTextAsync(string text, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(text);
        var connection = await NextConnectionAsync(null, cancellationToken).ConfigureAwait(false)
            ?? throw new WibeSocketClosedException(WibeSocketState.Closed);
        await connection.SendTextAsync(text, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Stops reconnecting and closes the current connection with a close handshake.</summary>
    public async ValueTask CloseAsync(WebSocketCloseStatus status = WebSocketCloseStatus.NormalClosure, string? reason = null, CancellationToken cancellationToken = default)
    {
        await _stop.CancelAsync().ConfigureAwait(false);
        if (Current is { } connection)
        {
            try
            {
                await connection.CloseAsync(status, reason, cancellationToken).ConfigureAwait(false);
            }
            catch (WibeSocketClosedException)
            {
            }
        }

        if (_run is { } run)
        {
            await run.WaitAsync(cancellationToken).ConfigureAwait(false);
        }

        Finish(null);
    }

    /// <summary>Stops reconnecting and drops every connection still held.</summary>
    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync().ConfigureAwait(false);
        if (_run is { } run)
        {
            try
            {
                await run.ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
            }
        }

        Finish(null);
        WibeSocketClientConnection[] connections;
        lock (_gate)
        {
            connections = [.. _connections];
            _connections.Clear();
        }

        foreach (var connection in connections)
        {
            await connection.DisposeAsync().ConfigureAwait(false);
        }

        _stop.Dispose();
    }

    private async Task RunAsync(CancellationToken stop)
    {
        int failures = 0;
        WebSocketCloseStatus? lastClose = null;
        while (!stop.IsCancellationRequested)
        {
            WibeSocketClientConnection connection;
            try
            {
                connection = await WibeSocketClient.ConnectAsync(_uri, _options, stop).ConfigureAwait(false);
                if (ConnectionCount > 0 && OnReconnected is { } onReconnected)
                {
                    try
                    {
                        await onReconnected(connection, stop).ConfigureAwait(false);
                    }
                    catch
                    {
                        await connection.DisposeAsync().ConfigureAwait(false);
                        throw;
                    }
                }
            }
            catch (Exception ex) when (!stop.IsCancellationRequested)
            {
                failures++;
                if (!IsRetried(ex) || failures >= _reconnect.MaxAttempts)
                {
                    SetState(WibeSocketConnectionState.Closed, failures, null, lastClose, ex);
                    Finish(ex);
                    return;
                }

                var delay = _reconnect.GetDelay(failures);
                SetState(ConnectionCount == 0 ? WibeSocketConnectionState.Connecting : WibeSocketConnectionState.Reconnecting, failures, delay, lastClose, ex);
                if (!await DelayAsync(delay, stop).ConfigureAwait(false))
                {
                    break;
                }

                continue;
            }
            catch (Exception) when (stop.IsCancellationRequested)
            {
                // Closed or disposed while connecting: whatever the attempt threw, the client is stopping.
                break;
            }

            failures = 0;
            ConnectionCount++;
            lock (_gate)
            {
                _connections.RemoveAll(static c => c.Completion.IsCompleted);
                _connections.Add(connection);
                _ready.TrySetResult(connection);
            }

            SetState(WibeSocketConnectionState.Connected, 0, null, lastClose, null);
            _firstConnection.TrySetResult();

            // Wait for this connection to end, however it ends.
            var closed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            using (connection.ConnectionClosed.UnsafeRegister(static s => ((TaskCompletionSource)s!).TrySetResult(), closed))
            using (stop.UnsafeRegister(static s => ((TaskCompletionSource)s!).TrySetResult(), closed))
            {
                await closed.Task.ConfigureAwait(false);
            }

            if (stop.IsCancellationRequested)
            {
                break;
            }

            lastClose = connection.State == WibeSocketState.Aborted ? null : connection.CloseStatus;
            Replace();
            if (!_reconnect.ShouldReconnect(lastClose))
            {
                SetState(WibeSocketConnectionState.Closed, 0, null, lastClose, null);
                Finish(null);
                return;
            }

            // Even a clean "come back later" waits a first backoff delay: the server that just went away is not back yet.
            var wait = _reconnect.GetDelay(1);
            SetState(WibeSocketConnectionState.Reconnecting, 0, wait, lastClose, null);
            if (!await DelayAsync(wait, stop).ConfigureAwait(false))
            {
                break;
            }
        }

        SetState(WibeSocketConnectionState.Closed, 0, null, lastClose, null);
        Finish(null);
    }

    private bool IsRetried(Exception ex) => ex switch
    {
        ArgumentException => false,
        AuthenticationException => false,
        WibeSocketUpgradeException { StatusCode: >= 400 and < 500 } => _reconnect.RetryRefusals,
        _ => true,
    };

    private async Task<bool> DelayAsync(TimeSpan delay, CancellationToken stop)
    {
        try
        {
            await Task.Delay(delay, _options.TimeProvider, stop).ConfigureAwait(false);
            return true;
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }

    // The current connection ended: receivers that drained it wait for the next one.
    private void Replace()
    {
        lock (_gate)
        {
            if (_ready.Task.IsCompleted)
            {
                _ready = new TaskCompletionSource<WibeSocketClientConnection?>(TaskCreationOptions.RunContinuationsAsynchronously);
                var changed = _changed;
                _changed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                changed.TrySetResult();
            }
        }
    }

    // The client stopped for good: every waiter is told there is no next connection.
    private void Finish(Exception? failure)
    {
        lock (_gate)
        {
            if (_ready.Task.IsCompletedSuccessfully && _ready.Task.Result is not null && _ready.Task.Result.State != WibeSocketState.Open)
            {
                _ready = new TaskCompletionSource<WibeSocketClientConnection?>(TaskCreationOptions.RunContinuationsAsynchronously);
                var changed = _changed;
                _changed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                changed.TrySetResult();
            }

            _ready.TrySetResult(null);
        }

        if (failure is not null)
        {
            _firstConnection.TrySetException(failure);
        }
        else
        {
            _firstConnection.TrySetException(new WibeSocketClosedException(WibeSocketState.Closed));
        }
    }

    // The connection to use: the current one, or the one after `previous` once that has ended; null when there is none.
    private async ValueTask<WibeSocketClientConnection?> NextConnectionAsync(WibeSocketClientConnection? previous, CancellationToken cancellationToken)
    {
        while (true)
        {
            Task<WibeSocketClientConnection?> ready;
            Task changed;
            lock (_gate)
            {
                ready = _ready.Task;
                changed = _changed.Task;
            }

            if (!ready.IsCompleted)
            {
                var connection = await ready.WaitAsync(cancellationToken).ConfigureAwait(false);
                if (connection is null || connection != previous)
                {
                    return connection;
                }

                continue;
            }

            var current = ready.Result;
            if (current is null || current != previous)
            {
                return current;
            }

            // `previous` is still published: the supervisor has not seen its end yet.
            await changed.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    private void SetState(WibeSocketConnectionState state, int attempt, TimeSpan? delay, WebSocketCloseStatus? closeStatus, Exception? exception)
    {
        var previous = _state;
        if (previous == WibeSocketConnectionState.Closed)
        {
            return;
        }

        _state = state;
        StateChanged?.Invoke(this, new WibeSocketConnectionStateChangedEventArgs(previous, state, attempt, delay, closeStatus, exception));
    }
}
