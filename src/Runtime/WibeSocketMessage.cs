using System.Buffers;
using System.Text;

namespace Shockwave;

/// <summary>
/// A received message. Its payload is <b>borrowed</b>: it may point straight into the connection's receive buffer
/// and is valid only until the next receive on the same socket. Reading <see cref="Payload"/> after that throws
/// <see cref="InvalidOperationException"/> instead of returning recycled bytes. To keep a message, copy it
/// (<see cref="ToArray"/>, <see cref="GetText"/>). Echoing it with <see cref="WibeSocket.SendAsync(in WibeSocketMessage, CancellationToken)"/>
/// is safe: a send copies the payload into the transport before it returns.
/// </summary>
public readonly struct WibeSocketMessage
{
    private readonly ReceiveLease? _lease;
    private readonly int _generation;
    private readonly ReadOnlySequence<byte> _payload;

    internal WibeSocketMessage(WibeSocketMessageType type, ReadOnlySequence<byte> payload, ReceiveLease? lease, int generation)
    {
        Type = type;
        _payload = payload;
        _lease = lease;
        _generation = generation;
    }

    /// <summary>Text, binary, or close.</summary>
    public WibeSocketMessageType Type { get; }

    /// <summary>True for a text message.</summary>
    public bool IsText => Type == WibeSocketMessageType.Text;

    /// <summary>True when the connection is closing and no more messages will arrive.</summary>
    public bool IsClose => Type == WibeSocketMessageType.Close;

    /// <summary>The payload length in bytes.</summary>
    public long Length => Payload.Length;

    /// <summary>The payload, valid until the next receive on this socket.</summary>
    /// <exception cref="InvalidOperationException">The socket has received again since this message was handed out.</exception>
    public ReadOnlySequence<byte> Payload
    {
        get
        {
            if (_lease is not null && _lease.Generation != _generation)
            {
                throw new InvalidOperationException(
                    "This message's payload was borrowed from the receive buffer and has been recycled by a later receive. " +
                    "Copy the message (ToArray, GetText) before receiving again if you need to keep it.");
            }

            return _payload;
        }
    }

    /// <summary>The payload decoded as UTF-8 (a copy).</summary>
    public string GetText() => Encoding.UTF8.GetString(Payload);

    /// <summary>A copy of the payload that outlives the next receive.</summary>
    public byte[] ToArray() => Payload.ToArray();

}

/// <summary>Counts receives on one socket, so a message can tell whether its borrowed payload is still valid.</summary>
internal class ReceiveLease
{
    private int _generation;

    public int Generation => Volatile.Read(ref _generation);

    public int Advance() => Interlocked.Increment(ref _generation);
}
