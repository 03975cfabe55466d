using System.Buffers;
using System.Net;
using System.Security.Claims;
using Shockwave.Protocol;

namespace Shockwave.Testing;

/// <summary>
/// The runtime's socket as the test sees it through <see cref="WibeSocketTestConnection.Socket"/>: every member goes
/// straight to the runtime, and each data message received, by whichever path, takes its record from the
/// <see cref="ServerFrameTap"/>, so the records stay in step with the messages. Handing out the close calls
/// <c>onClose</c>.
/// </summary>
internal sealed class TapSocket : WibeSocket
{
    private readonly WibeSocket _inner;
    private readonly ServerFrameTap _tap;
    private readonly Action _onClose;

    public TapSocket(WibeSocket inner, ServerFrameTap tap, Action onClose)
    {
        _inner = inner;
        _tap = tap;
        _onClose = onClose;
    }

    /// <summary>How the last data message received arrived.</summary>
    public ReceivedMessageFrames LastMessage { get; private set; }

    public override string ConnectionId => _inner.ConnectionId;

    public override ClaimsPrincipal User => _inner.User;

    public override string? SubProtocol => _inner.SubProtocol;

    public override EndPoint? RemoteEndPoint => _inner.RemoteEndPoint;

    public override IDictionary<object, object?> Items => _inner.Items;

    public override CancellationToken ConnectionClosed => _inner.ConnectionClosed;

    public override WibeSocketState State => _inner.State;

    public override WebSocketCloseStatus? CloseStatus => _inner.CloseStatus;

    public override string? CloseStatusDescription => _inner.CloseStatusDescription;

    public override ValueTask<WibeSocketMessage> ReceiveAsync(CancellationToken cancellationToken = default)
    {
        var pending = _inner.ReceiveAsync(cancellationToken);
        if (!pending.IsCompletedSuccessfully)
        {
            return ReceiveSlowAsync(pending);
        }

        var message = pending.Result;
        OnReceived(message);
        return ValueTask.FromResult(message);
    }

    public override ValueTask SendAsync(ReadOnlyMemory<byte> payload, WibeSocketMessageType type, CancellationToken cancellationToken = default) =>
        _inner.SendAsync(payload, type, cancellationToken);

    public override ValueTask SendAsync(ReadOnlySequence<byte> payload, WibeSocketMessageType type, CancellationToken cancellationToken = default) =>
        _inner.SendAsync(payload, type, cancellationToken);

    public override ValueTask<WibeSocketMessageWriter> BeginMessageAsync(WibeSocketMessageType type, CancellationToken cancellationToken = default) =>
        _inner.BeginMessageAsync(type, cancellationToken);

    public override ValueTask CloseAsync(WebSocketCloseStatus status = WebSocketCloseStatus.NormalClosure, string? reason = null, CancellationToken cancellationToken = default) =>
        _inner.CloseAsync(status, reason, cancellationToken);

    public override void Abort() => _inner.Abort();

    private async ValueTask<WibeSocketMessage> ReceiveSlowAsync(ValueTask<WibeSocketMessage> pending)
    {
        var message = await pending.ConfigureAwait(false);
        OnReceived(message);
        return message;
    }

    private void OnReceived(in WibeSocketMessage message)
    {
        if (message.IsClose)
        {
            _onClose();
        }
        else
        {
            LastMessage = _tap.TakeMessage();
        }
    }
}
