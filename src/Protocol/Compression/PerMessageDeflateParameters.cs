namespace Shockwave.Protocol.Compression;

/// <summary>
/// The permessage-deflate configuration both ends agreed on (RFC 7692 section 7.1): which side resets its window per
/// message and how large each side's compression window may be.
/// </summary>
/// <param name="ServerNoContextTakeover">The server compresses every message with an empty window (section 7.1.1.1).</param>
/// <param name="ClientNoContextTakeover">The client compresses every message with an empty window (section 7.1.1.2).</param>
/// <param name="ServerMaxWindowBits">The server's compression window, 8 to 15 (section 7.1.2.1); 15 when not negotiated.</param>
/// <param name="ClientMaxWindowBits">The client's compression window, 8 to 15 (section 7.1.2.2); 15 when not negotiated.</param>
public readonly record struct PerMessageDeflateParameters(
    bool ServerNoContextTakeover,
    bool ClientNoContextTakeover,
    int ServerMaxWindowBits,
    int ClientMaxWindowBits)
{
    /// <summary>The smallest window RFC 7692 allows, 2^8 bytes.</summary>
    public const int MinWindowBits = 8;

    /// <summary>The largest window, 2^15 = 32 KiB; also the value when the parameter was not negotiated (section 7.1.2).</summary>
    public const int MaxWindowBits = 15;

    /// <summary>What a bare <c>permessage-deflate</c> agreement means: context takeover both ways, 32 KiB windows.</summary>
    public static PerMessageDeflateParameters Default => new(false, false, MaxWindowBits, MaxWindowBits);

    /// <summary>Whether the endpoint playing <paramref name="role"/> compresses every message it sends with an empty window.</summary>
    public bool LocalNoContextTakeover(WebSocketRole role) =>
        role == WebSocketRole.Server ? ServerNoContextTakeover : ClientNoContextTakeover;

    /// <summary>The window the endpoint playing <paramref name="role"/> may compress with.</summary>
    public int LocalMaxWindowBits(WebSocketRole role) =>
        role == WebSocketRole.Server ? ServerMaxWindowBits : ClientMaxWindowBits;

    /// <summary>Whether the peer of the endpoint playing <paramref name="role"/> compresses every message with an empty window.</summary>
    public bool PeerNoContextTakeover(WebSocketRole role) =>
        role == WebSocketRole.Server ? ClientNoContextTakeover : ServerNoContextTakeover;

    /// <summary>The window the peer of the endpoint playing <paramref name="role"/> may compress with.</summary>
    public int PeerMaxWindowBits(WebSocketRole role) =>
        role == WebSocketRole.Server ? ClientMaxWindowBits : ServerMaxWindowBits;

    /// <summary>Throws <see cref="ArgumentOutOfRangeException"/> if a window is outside 8..15 (for example a <c>default</c> instance).</summary>
    public void Validate()
    {
        PerMessageDeflateOptions.ValidateWindowBits(ServerMaxWindowBits, nameof(ServerMaxWindowBits));
        PerMessageDeflateOptions.ValidateWindowBits(ClientMaxWindowBits, nameof(ClientMaxWindowBits));
    }
}
