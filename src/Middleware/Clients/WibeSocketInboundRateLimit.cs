namespace Shockwave;

/// <summary>
/// Per-connection limits on what a peer sends: messages per second and bytes per second, each a token bucket holding
/// one second's worth. Off by default: with neither rate set, no limiter exists and a connection pays nothing.
/// </summary>
public sealed class WibeSocketInboundRateLimit
{
    /// <summary>Messages per second a connection may send on average; null (the default) leaves messages unlimited.</summary>
    public int? MessagesPerSecond { get; set; }

    /// <summary>Payload bytes per second a connection may send on average; null (the default) leaves bytes unlimited.</summary>
    public long? BytesPerSecond { get; set; }

    /// <summary>What an over-limit connection gets. The default, <see cref="WibeSocketRateLimitPolicy.BackPressure"/>, stops reading from it.</summary>
    public WibeSocketRateLimitPolicy Policy { get; set; } = WibeSocketRateLimitPolicy.BackPressure;

    /// <summary>True when a rate is set.</summary>
    public bool IsEnabled => MessagesPerSecond is not null || BytesPerSecond is not null;

    internal WibeSocketInboundRateLimit Clone() => (WibeSocketInboundRateLimit)MemberwiseClone();
}

/// <summary>What a connection over its inbound rate limit gets.</summary>
public enum WibeSocketRateLimitPolicy
{
    /// <summary>The server stops reading from it until it is under the limit; TCP back-pressure slows the peer down.</summary>
    BackPressure,

    /// <summary>The connection is closed with 1008 (policy violation).</summary>
    Close,
}
