using System.Text;
using Shockwave.Protocol;

namespace Shockwave.Testing;

/// <summary>
/// One thing the server sent, as a test connection's <c>ReceiveAsync</c> delivers it: a whole data message (its
/// fragments joined), the server's close, or (from <see cref="WibeSocketRawTestConnection"/> only) a ping or pong.
/// Its payload is a copy that outlives the next receive.
/// </summary>
public sealed class WibeSocketTestMessage
{
    private readonly byte[] _payload;
    private readonly bool _deflated;

    internal WibeSocketTestMessage(
        WibeSocketMessageType type,
        byte[] payload,
        int frameCount,
        bool isCompressed = false,
        WebSocketCloseStatus? closeStatus = null,
        string? closeReason = null,
        bool inflated = false)
    {
        Type = type;
        _payload = payload;
        FrameCount = frameCount;
        IsCompressed = isCompressed;
        _deflated = isCompressed && !inflated;
        CloseStatus = closeStatus;
        CloseReason = closeReason;
    }

    /// <summary>The message's type.</summary>
    public WibeSocketMessageType Type { get; }

    /// <summary>
    /// The payload: the joined data of every fragment (inflated by <see cref="WibeSocketTestConnection"/>, as received
    /// from <see cref="WibeSocketRawTestConnection"/>), or the control frame's payload (for a close, the raw code and
    /// reason bytes).
    /// </summary>
    public ReadOnlyMemory<byte> Payload => _payload;

    /// <summary>
    /// The payload of a text message as a string. The client validated it as UTF-8 on receipt.
    /// </summary>
    /// <exception cref="InvalidOperationException">The message is not text, or it is deflate data the raw connection did not inflate.</exception>
    public string Text
    {
        get
        {
            if (Type != WibeSocketMessageType.Text)
            {
                throw new InvalidOperationException($"The message is {Type}, not Text.");
            }

            if (_deflated)
            {
                throw new InvalidOperationException("The message is compressed (RSV1 set); the raw test connection does not inflate permessage-deflate payloads.");
            }

            return Encoding.UTF8.GetString(_payload);
        }
    }

    /// <summary>
    /// RSV1 was set on the message's first frame: the server sent it compressed with permessage-deflate (RFC 7692
    /// section 6). <see cref="WibeSocketTestConnection"/> inflates it; <see cref="WibeSocketRawTestConnection"/> hands
    /// out the deflate data as received.
    /// </summary>
    public bool IsCompressed { get; }

    /// <summary>
    /// How many frames carried the message: 1 for an unfragmented message and for control frames, 0 for the close
    /// <see cref="WibeSocketTestConnection"/> reports when the connection ended without the server's close frame.
    /// </summary>
    public int FrameCount { get; }

    /// <summary>
    /// For a close: its status code, <see cref="WebSocketCloseStatus.NoStatusReceived"/> when the close frame was
    /// empty, or <see cref="WebSocketCloseStatus.AbnormalClosure"/> when the connection ended without one (RFC 6455
    /// section 7.1.5; runtime-backed connection only). Null for other types.
    /// </summary>
    public WebSocketCloseStatus? CloseStatus { get; }

    /// <summary>For a close: its reason, empty when there was none. Null for other types.</summary>
    public string? CloseReason { get; }

    /// <summary>Describes the message for assertion messages.</summary>
    public override string ToString() => Type switch
    {
        WibeSocketMessageType.Close => $"Close {(ushort?)CloseStatus} \"{CloseReason}\"",
        WibeSocketMessageType.Text when !_deflated && _payload.Length <= 64 => $"Text \"{Text}\"",
        _ => $"{Type} {_payload.Length} B{(IsCompressed ? " compressed" : string.Empty)} in {FrameCount} frame(s)",
    };
}
