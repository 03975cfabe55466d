namespace Shockwave.Protocol;

/// <summary>A decoded frame header (RFC 6455 section 5.2).</summary>
/// <param name="Fin">The FIN bit: this frame ends its message.</param>
/// <param name="Rsv1">RSV1; with permessage-deflate it marks a compressed message (RFC 7692 section 6).</param>
/// <param name="Rsv2">RSV2; no extension Shockwave negotiates defines it.</param>
/// <param name="Rsv3">RSV3; no extension Shockwave negotiates defines it.</param>
/// <param name="Opcode">The frame's opcode.</param>
/// <param name="IsMasked">The MASK bit.</param>
/// <param name="MaskKey">The masking key as the 4 wire bytes in native memory order (see <see cref="WebSocketMask"/>).</param>
/// <param name="PayloadLength">The payload length in bytes.</param>
/// <param name="HeaderLength">The number of header bytes on the wire: 2 to 14.</param>
public readonly record struct FrameHeader(
    bool Fin,
    bool Rsv1,
    bool Rsv2,
    bool Rsv3,
    WebSocketOpcode Opcode,
    bool IsMasked,
    uint MaskKey,
    long PayloadLength,
    int HeaderLength);
