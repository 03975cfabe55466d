using System.Buffers;
using System.Net;
using System.Security.Claims;
using Shockwave.Protocol;

namespace Shockwave;

/// <summary>
/// A <see cref="WibeSocket"/> that hands every member to another one, for decorators that add to a socket without
/// reimplementing it (as <c>DelegatingHandler</c> does for HTTP). Override <see cref="OnReceived"/> to see each message
/// the caller is handed, or any member to change it.
/// </summary>
public abstract class DelegatingWibeSocket : WibeSocket
{
    /// <summary>Wraps <paramref name="inner"/>.</summary>
    protected DelegatingWibeSocket(WibeSocket inner)
    {
        ArgumentNullException.ThrowIfNull(inner);
        Inner = inner;
    }

    /// <summary>The socket every member goes to.</summary>
    protected WibeSocket Inner { get; }

    /// <inheritdoc/>
    public override string ConnectionId => Inner.ConnectionId;

    /// <inheritdoc/>
    public override ClaimsPrincipal User => Inner.User;

    /// <inheritdoc/>
    public override string? SubProtocol => Inner.SubProtocol;

    /// <inheritdoc/>
    public override EndPoint? RemoteEndPoint => Inner.RemoteEndPoint;

    /// <inheritdoc/>
    public override IDictionary<object, object?> Items => Inner.Items;

    /// <inheritdoc/>
    public override CancellationToken ConnectionClosed => Inner.ConnectionClosed;

    /// <inheritdoc/>
    public override WibeSocketState State => Inner.State;

    /// <inheritdoc/>
    public override WebSocketCloseStatus? CloseStatus => Inner.CloseStatus;

    /// <inheritdoc/>
    public override string? CloseStatusDescription => Inner.CloseStatusDescription;

    /// <inheritdoc/>
    public override ValueTask<WibeSocketMessage> ReceiveAsync(CancellationToken cancellationToken = default)
    {
        var pending = Inner.ReceiveAsync(cancellationToken);
        if (!pending.IsCompletedSuccessfully)
        {
            return ReceiveSlowAsync(pending);
        }

        var message = pending.Result;
        OnReceived(message);
        return ValueTask.FromResult(message);
    }

    /// <inheritdoc/>
    public override ValueTask SendAsync(ReadOnlyMemory<byte> payload, WibeSocketMessageType type, CancellationToken cancellationToken = default) =>
        Inner.SendAsync(payload, type, cancellationToken);

    /// <inheritdoc/>
    public override ValueTask SendAsync(ReadOnlySequence<byte> payload, WibeSocketMessageType type, CancellationToken cancellationToken = default) =>
        Inner.SendAsync(payload, type, cancellationToken);

    /// <inheritdoc/>
    public override ValueTask<WibeSocketMessageWriter> BeginMessageAsync(WibeSocketMessageType type, CancellationToken cancellationToken = default) =>
        Inner.BeginMessageAsync(type, cancellationToken);

    /// <inheritdoc/>
    public override ValueTask CloseAsync(WebSocketCloseStatus status = WebSocketCloseStatus.NormalClosure, string? reason = null, CancellationToken cancellationToken = default) =>
        Inner.CloseAsync(status, reason, cancellationToken);

    /// <inheritdoc/>
    public override void Abort() => Inner.Abort();

    /// <summary>Called with each message (data or close) before the caller of <see cref="ReceiveAsync"/> gets it.</summary>
    protected virtual void OnReceived(in WibeSocketMessage message)
    {
    }

    private async ValueTask<WibeSocketMessage> ReceiveSlowAsync(ValueTask<WibeSocketMessage> pending)
    {
        var message = await pending.ConfigureAwait(false);
        OnReceived(message);
        return message;
    }
}
