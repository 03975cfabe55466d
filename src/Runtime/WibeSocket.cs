using System.Buffers;
using System.Net;
using System.Runtime.CompilerServices;
using System.Security.Claims;
using System.Text;
using Shockwave.Protocol;

namespace Shockwave;

/// <summary>
/// One WebSocket connection, as a handler sees it, on either end: the server's (a hub, a <c>MapWibeSocket</c> handler)
/// or a client's. Server-side extras, such as the upgrade request's <c>HttpContext</c>, come as extensions from the
/// server package. The runtime owns the read loop: pings are answered and close
/// frames processed while the handler is busy, and <see cref="ReceiveAsync"/> hands out whole messages.
/// </summary>
/// <remarks>
/// <para>Receiving: one receiver at a time. A received payload is borrowed and valid until the next receive
/// (see <see cref="WibeSocketMessage"/>).</para>
/// <para>Sending: thread-safe. Concurrent sends are serialized and each message goes out whole; a streaming
/// message (<see cref="BeginMessageAsync"/>) holds other data messages back until it completes, while pongs and
/// close frames still go out between its frames (RFC 6455 section 5.4). Every send copies the payload into the
/// transport before it returns, so the caller may reuse its buffer at once. Back-pressure from the transport
/// reaches the caller through the returned task. Cancelling a send that has started writing a frame aborts the
/// connection, because a half-written frame cannot be recovered.</para>
/// </remarks>
public abstract class WibeSocket
{
    /// <summary>A unique identifier for the connection, for logs and correlation.</summary>
    public abstract string ConnectionId { get; }

    /// <summary>The authenticated user from the upgrade request (an anonymous principal on the raw listener).</summary>
    public abstract ClaimsPrincipal User { get; }

    /// <summary>The subprotocol the server selected, or null when none was (RFC 6455 section 4.2.2).</summary>
    public abstract string? SubProtocol { get; }

    /// <summary>The peer's address, when the transport knows it.</summary>
    public abstract EndPoint? RemoteEndPoint { get; }

    /// <summary>State the application keeps with the connection.</summary>
    public abstract IDictionary<object, object?> Items { get; }

    /// <summary>Signalled when the connection has ended, however it ended.</summary>
    public abstract CancellationToken ConnectionClosed { get; }

    /// <summary>Where the connection is in its life cycle.</summary>
    public abstract WibeSocketState State { get; }

    /// <summary>The close status the peer sent, or the one the connection was failed with; null while open.</summary>
    public abstract WebSocketCloseStatus? CloseStatus { get; }

    /// <summary>The close reason that goes with <see cref="CloseStatus"/>.</summary>
    public abstract string? CloseStatusDescription { get; }

    /// <summary>
    /// Waits for the next whole message. Returns a message of type <see cref="WibeSocketMessageType.Close"/> once
    /// the connection is closing; every later call returns the same.
    /// </summary>
    public abstract ValueTask<WibeSocketMessage> ReceiveAsync(CancellationToken cancellationToken = default);

    /// <summary>Sends one whole message.</summary>
    public abstract ValueTask SendAsync(ReadOnlyMemory<byte> payload, WibeSocketMessageType type, CancellationToken cancellationToken = default);

    /// <summary>Sends one whole message whose payload is a sequence.</summary>
    public abstract ValueTask SendAsync(ReadOnlySequence<byte> payload, WibeSocketMessageType type, CancellationToken cancellationToken = default);

    /// <summary>
    /// Starts a message sent in parts: each <see cref="WibeSocketMessageWriter.WriteAsync"/> becomes a frame.
    /// Other data messages wait until the writer completes; control frames do not.
    /// </summary>
    public abstract ValueTask<WibeSocketMessageWriter> BeginMessageAsync(WibeSocketMessageType type, CancellationToken cancellationToken = default);

    /// <summary>
    /// Starts the close handshake (RFC 6455 section 7.1.2) and waits, up to the close timeout, for the peer's close
    /// frame; then ends the connection. Data still arriving meanwhile is discarded.
    /// </summary>
    public abstract ValueTask CloseAsync(WebSocketCloseStatus status = WebSocketCloseStatus.NormalClosure, string? reason = null, CancellationToken cancellationToken = default);

    /// <summary>Tears the connection down at once, without a close handshake.</summary>
    public abstract void Abort();

    /// <summary>Sends a text message.</summary>
    public ValueTask SendTextAsync(string text, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(text);
        return SendTextCoreAsync(text, cancellationToken);
    }

    /// <summary>Sends a received message back (or on to another socket), before its borrowed payload is recycled.</summary>
    public ValueTask SendAsync(in WibeSocketMessage message, CancellationToken cancellationToken = default)
    {
        if (message.IsClose)
        {
            throw new ArgumentException("A close message cannot be sent; use CloseAsync.", nameof(message));
        }

        return SendAsync(message.Payload, message.Type, cancellationToken);
    }

    /// <summary>Receives messages until the connection closes.</summary>
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

    private async ValueTask SendTextCoreAsync(string text, CancellationToken cancellationToken)
    {
        int max = Encoding.UTF8.GetMaxByteCount(text.Length);
        byte[] buffer = ArrayPool<byte>.Shared.Rent(max);
        try
        {
            int length = Encoding.UTF8.GetBytes(text, buffer);
            await SendAsync(buffer.AsMemory(0, length), WibeSocketMessageType.Text, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }
}

/// <summary>Writes one message in parts; obtained from <see cref="WibeSocket.BeginMessageAsync"/>.</summary>
public abstract class WibeSocketMessageWriter : IAsyncDisposable
{
    /// <summary>Sends <paramref name="part"/> as one frame of the message.</summary>
    public abstract ValueTask WriteAsync(ReadOnlyMemory<byte> part, CancellationToken cancellationToken = default);

    /// <summary>Sends the final frame (with <paramref name="lastPart"/>, possibly empty) and lets other messages go.</summary>
    public abstract ValueTask CompleteAsync(ReadOnlyMemory<byte> lastPart = default, CancellationToken cancellationToken = default);

    /// <summary>Completes the message if it was not completed (an empty final frame), releasing the send path.</summary>
    public abstract ValueTask DisposeAsync();
}
