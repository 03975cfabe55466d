using System.Text;
using Shockwave.Protocol;

namespace Shockwave.Testing;

/// <summary>
/// One thing the server sent, as <see cref="WibeSocketTestConnection.ReceiveAsync"/> delivers it: a whole data message
/// (its fragments joined) or a control frame.
/// </summary>
public sealed class WibeSocketTestMessage
{
    private readonly byte[] _payload;

    internal WibeSocketTestMessage(
        WibeSocketMessageType type,
        byte[] payload,
        int frameCount,
        bool isCompressed = false,
        WebSocketCloseStatus? closeStatus = null,
        string? closeReason = null)
    {
        Type = type;
        _payload = payload;
        FrameCount = frameCount;
        IsCompressed = isCompressed;
        CloseStatus = closeStatus;
        CloseReason = closeReason;
    }

    /// <summary>The message's type.</summary>
    public WibeSocketMessageType Type { get; }

    /// <summary>The payload: the joined data of every fragment, or the control frame's payload (for a close, the raw code and reason bytes).</summary>
    public ReadOnlyMemory<byte> Payload => _payload;

    /// <summary>
    /// The payload of a text message as a string. The client validated it as UTF-8 on receipt.
    /// </summary>
    /// <exception cref="InvalidOperationException">The message is not text, or it is compressed (the client does not inflate).</exception>
    public string Text
    {
        get
        {
            if (Type != WibeSocketMessageType.Text)
            {
                throw new InvalidOperationException($"The message is {Type}, not Text.");
            }

            if (IsCompressed)
            {
                throw new InvalidOperationException("The message is compressed (RSV1 set); the test client does not inflate permessage-deflate payloads.");
            }

            return Encoding.UTF8.GetString(_payload);
        }
    }

    /// <summary>
    /// RSV1 was set on the message's first frame: with permessage-deflate negotiated, <see cref="Payload"/> is
    /// compressed data (RFC 7692 section 6), which this client hands out as received.
    /// </summary>
    public bool IsCompressed { get; }

    /// <summary>How many frames carried the message (1 for an unfragmented message and for control frames).</summary>
    public int FrameCount { get; }

    /// <summary>
    /// For a close: its status code, or <see cref="WebSocketCloseStatus.NoStatusReceived"/> when the close frame was
    /// empty (RFC 6455 section 7.1.5). Null for other types.
    /// </summary>
    public WebSocketCloseStatus? CloseStatus { get; }

    /// <summary>For a close: its reason, empty when there was none. Null for other types.</summary>
    public string? CloseReason { get; }

    /// <summary>Describes the message for assertion messages.</summary>
    public override string ToString() => Type switch
    {
        WibeSocketMessageType.Close => $"Close {(ushort?)CloseStatus} \"{CloseReason}\"",
        WibeSocketMessageType.Text when !IsCompressed && _payload.Length <= 64 => $"Text \"{Text}\"",
        _ => $"{Type} {_payload.Length} B{(IsCompressed ? " compressed" : string.Empty)} in {FrameCount} frame(s)",
    };
}
