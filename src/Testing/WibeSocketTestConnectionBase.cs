using Microsoft.AspNetCore.Http;

namespace Shockwave.Testing;

/// <summary>
/// What both kinds of test connection share: the 101 they were opened with, the operation timeout, the app's end of the
/// request, and dropping the connection. See <see cref="WibeSocketTestConnection"/> (a production client on the
/// shared runtime) and <see cref="WibeSocketRawTestConnection"/> (frame-level control, no rules unless asked).
/// </summary>
public abstract class WibeSocketTestConnectionBase : IAsyncDisposable
{
    private readonly CancellationTokenSource _disposing = new();
    private TimeSpan _timeout;
    private WibeSocketTestMessage? _receivedClose;
    private int _receiving;
    private int _disposed;

    private protected WibeSocketTestConnectionBase(UpgradedConnection connection)
    {
        Connection = connection;
        _timeout = connection.Settings.Timeout;
        string? protocol = connection.ResponseHeaders.SecWebSocketProtocol;
        SubProtocol = string.IsNullOrEmpty(protocol) ? null : protocol.Trim();
        string? extensions = connection.ResponseHeaders.SecWebSocketExtensions;
        Extensions = string.IsNullOrEmpty(extensions) ? null : extensions;
    }

    /// <summary>The subprotocol the server selected (<c>Sec-WebSocket-Protocol</c> in its 101), or null.</summary>
    public string? SubProtocol { get; }

    /// <summary>The extensions the server accepted (<c>Sec-WebSocket-Extensions</c> in its 101), or null.</summary>
    public string? Extensions { get; }

    /// <summary>A copy of the 101 response's headers, including those set by middleware around the endpoint.</summary>
    public IHeaderDictionary ResponseHeaders => Connection.ResponseHeaders;

    /// <summary>
    /// The longest each operation may take before it fails with a <see cref="TimeoutException"/>. Starts as the
    /// client's <see cref="WibeSocketTestClient.Timeout"/>; <see cref="System.Threading.Timeout.InfiniteTimeSpan"/> disables it.
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

    /// <summary>The server's close, once a receive or <c>CloseAsync</c> has returned it; null before.</summary>
    public WibeSocketTestMessage? ReceivedClose => Volatile.Read(ref _receivedClose);

    private protected UpgradedConnection Connection { get; }

    private protected bool IsDisposed => Volatile.Read(ref _disposed) != 0;

    /// <summary>
    /// Waits until the app has finished the request (its endpoint returned, or it threw) and rethrows the exception it
    /// threw after the 101, if any. TestHost completes the request only then, so this is how a test observes a failure
    /// the client could otherwise only see as a dropped connection.
    /// </summary>
    public async Task WaitForServerToFinishAsync(CancellationToken cancellationToken = default)
    {
        ThrowIfDisposed();
        var failure = await RunAsync(
            token => Connection.ServerFinished.WaitAsync(token),
            "Waiting for the app to finish the request",
            cancellationToken).ConfigureAwait(false);
        failure?.Throw();
    }

    /// <summary>
    /// Drops the connection without a closing handshake, as a vanished client would: pending operations end with
    /// <see cref="ObjectDisposedException"/>, the app's <c>HttpContext.RequestAborted</c> fires and its reads return 0.
    /// It does not wait for the app.
    /// </summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        await _disposing.CancelAsync().ConfigureAwait(false);
        await Connection.AbortRequestAsync().ConfigureAwait(false);
        await DropAsync().ConfigureAwait(false);
        await Connection.ReleaseAsync().ConfigureAwait(false);
        _disposing.Dispose();
        GC.SuppressFinalize(this);
    }

    /// <summary>Ends the client's side of the connection at once (both pipe ends), for <see cref="DisposeAsync"/>.</summary>
    private protected abstract ValueTask DropAsync();

    /// <summary>Runs an operation under the caller's token, the connection's <see cref="Timeout"/> and its disposal.</summary>
    private protected Task<T> RunAsync<T>(Func<CancellationToken, Task<T>> operation, string name, CancellationToken cancellationToken) =>
        Timeouts.RunAsync(operation, name, _timeout, cancellationToken, _disposing.Token);

    /// <inheritdoc cref="RunAsync{T}(Func{CancellationToken, Task{T}}, string, CancellationToken)"/>
    private protected Task RunAsync(Func<CancellationToken, Task> operation, string name, CancellationToken cancellationToken) =>
        Timeouts.RunAsync(operation, name, _timeout, cancellationToken, _disposing.Token);

    /// <summary>Records the server's close; the first one recorded stays.</summary>
    private protected WibeSocketTestMessage SetReceivedClose(WibeSocketTestMessage close) =>
        Interlocked.CompareExchange(ref _receivedClose, close, null) ?? close;

    private protected void EnterReceive()
    {
        if (Interlocked.Exchange(ref _receiving, 1) != 0)
        {
            throw new InvalidOperationException("Another receive is in progress; receives may not overlap.");
        }
    }

    private protected void ExitReceive() => Volatile.Write(ref _receiving, 0);

    /// <summary>Waits for a receive that is unwinding on another thread, so the pipe it reads is not completed under it.</summary>
    private protected void WaitForReceiveToExit()
    {
        var spin = default(SpinWait);
        while (Volatile.Read(ref _receiving) != 0)
        {
            spin.SpinOnce();
        }
    }

    private protected void ThrowIfDisposed() => ObjectDisposedException.ThrowIf(IsDisposed, this);
}
