using Shockwave.Protocol;
using Shockwave.Protocol.Compression;
using Shockwave.Protocol.Handshake;

namespace Shockwave.Client;

/// <summary>
/// An open client connection: the same <see cref="WibeSocket"/> a server handler gets (whole messages from
/// <see cref="WibeSocket.ReceiveAsync"/>, borrowed payloads valid until the next receive, thread-safe sends, streamed
/// sends through <see cref="WibeSocket.BeginMessageAsync"/>), plus what the handshake negotiated. Pings are answered as
/// they arrive and keep-alive pings go out on their own. Dispose it (or close it, or receive the close) to release the
/// TCP connection.
/// </summary>
public sealed class WibeSocketClientConnection : DelegatingWibeSocket, IAsyncDisposable
{
    private readonly TaskCompletionSource _released;
    private readonly Task _run;

    internal WibeSocketClientConnection(WibeSocket inner, TaskCompletionSource released, Task run, Uri uri, Http1ResponseHead response, PerMessageDeflateParameters? compression)
        : base(inner)
    {
        _released = released;
        _run = run;
        Uri = uri;
        ResponseHeaders = response.Headers;
        Compression = compression;
    }

    /// <summary>The URI this connection was opened to.</summary>
    public Uri Uri { get; }

    /// <summary>The header fields of the server's 101 answer (cookies it set, server-specific headers).</summary>
    public Http1HeaderCollection ResponseHeaders { get; }

    /// <summary>The permessage-deflate parameters agreed with the server (RFC 7692), or null when messages go uncompressed.</summary>
    public PerMessageDeflateParameters? Compression { get; }

    /// <summary>
    /// Completes when the connection has ended and its TCP connection is released: once it has closed or failed and the
    /// caller has received the close (the messages queued before it are kept until then), or called
    /// <see cref="CloseAsync"/>, <see cref="Abort"/> or <see cref="DisposeAsync"/>.
    /// </summary>
    public Task Completion => _run;

    /// <summary>
    /// Starts the close handshake, waits (up to the close timeout) for the server's close, and releases the connection.
    /// Messages not yet received are discarded.
    /// </summary>
    public override async ValueTask CloseAsync(WebSocketCloseStatus status = WebSocketCloseStatus.NormalClosure, string? reason = null, CancellationToken cancellationToken = default)
    {
        try
        {
            await Inner.CloseAsync(status, reason, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            Release();
        }

        await _run.WaitAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc/>
    public override void Abort()
    {
        Inner.Abort();
        Release();
    }

    /// <summary>Drops the connection if it is still open (no close handshake; <see cref="CloseAsync"/> first for one) and waits for it to end.</summary>
    public async ValueTask DisposeAsync()
    {
        if (!_run.IsCompleted)
        {
            Inner.Abort();
        }

        Release();
        await _run.ConfigureAwait(false);
    }

    // The runtime's handler waits on this: when it returns, the runtime releases the messages still queued, so it
    // returns only once the caller has been handed the close, closed, or dropped the connection.
    private void Release() => _released.TrySetResult();

    /// <summary>Handing out the close is what lets the connection go.</summary>
    protected override void OnReceived(in WibeSocketMessage message)
    {
        if (message.IsClose)
        {
            Release();
        }
    }
}
