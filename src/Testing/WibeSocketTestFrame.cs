using Shockwave.Protocol;

namespace Shockwave.Testing;

/// <summary>
/// One frame exactly as the server sent it, from <see cref="WibeSocketRawTestConnection.ReceiveFrameAsync"/>: the decoded
/// header and the payload, with no protocol rule applied, so tests can inspect what the server put on the wire.
/// </summary>
public sealed class WibeSocketTestFrame
{
    private readonly byte[] _payload;
    private readonly byte[] _wire;

    /// <summary>Decodes any header a server might write, however invalid, so that it can be shown or skipped.</summary>
    internal static readonly FrameReaderOptions AnyHeader = new()
    {
        MaxFramePayloadLength = long.MaxValue,
        MaxMessageSize = long.MaxValue,
        AllowCompressedMessages = true,
    };

    internal WibeSocketTestFrame(FrameHeader header, byte[] payload, byte[] wire)
    {
        Header = header;
        _payload = payload;
        _wire = wire;
    }

    /// <summary>The decoded header (RFC 6455 section 5.2).</summary>
    public FrameHeader Header { get; }

    /// <summary>The opcode, which may be a reserved value.</summary>
    public WebSocketOpcode Opcode => Header.Opcode;

    /// <summary>The FIN bit.</summary>
    public bool Fin => Header.Fin;

    /// <summary>RSV1: a compressed message's first frame when permessage-deflate is in use (RFC 7692 section 6).</summary>
    public bool Rsv1 => Header.Rsv1;

    /// <summary>The MASK bit; a server MUST NOT set it (RFC 6455 section 5.1).</summary>
    public bool IsMasked => Header.IsMasked;

    /// <summary>The payload, unmasked if the frame was masked.</summary>
    public ReadOnlyMemory<byte> Payload => _payload;

    /// <summary>The frame's bytes as they arrived: header, then payload (still masked if it was).</summary>
    public ReadOnlyMemory<byte> WireBytes => _wire;

    /// <summary>Describes the frame for assertion messages.</summary>
    public override string ToString() =>
        $"{Opcode} fin={Fin} rsv1={Rsv1} rsv2={Header.Rsv2} rsv3={Header.Rsv3} masked={IsMasked} {_payload.Length} B";
}
