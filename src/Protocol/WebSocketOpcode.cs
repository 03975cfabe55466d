namespace Shockwave.Protocol;

/// <summary>Frame opcodes defined by RFC 6455 section 5.2. Values 3-7 and 0xB-0xF are reserved.</summary>
public enum WebSocketOpcode : byte
{
    /// <summary>A continuation frame of a fragmented message.</summary>
    Continuation = 0x0,

    /// <summary>The first frame of a text message (UTF-8 payload).</summary>
    Text = 0x1,

    /// <summary>The first frame of a binary message.</summary>
    Binary = 0x2,

    /// <summary>A close control frame.</summary>
    Close = 0x8,

    /// <summary>A ping control frame.</summary>
    Ping = 0x9,

    /// <summary>A pong control frame.</summary>
    Pong = 0xA,
}

/// <summary>Classification helpers for <see cref="WebSocketOpcode"/>.</summary>
public static class WebSocketOpcodeExtensions
{
    /// <summary>Control frames have the high bit of the opcode set (RFC 6455 section 5.5).</summary>
    public static bool IsControl(this WebSocketOpcode opcode) => ((byte)opcode & 0x8) != 0;

    /// <summary>True for the six opcodes RFC 6455 defines; false for the reserved ones.</summary>
    public static bool IsDefined(this WebSocketOpcode opcode) =>
        opcode is WebSocketOpcode.Continuation or WebSocketOpcode.Text or WebSocketOpcode.Binary
            or WebSocketOpcode.Close or WebSocketOpcode.Ping or WebSocketOpcode.Pong;
}
