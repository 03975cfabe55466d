namespace Shockwave.Transport;

/// <summary>
/// Settings of the Shockwave transport (<c>UseShockwaveTransport</c>). The defaults are what the end-to-end benchmark
/// measured (docs/performance.md); each knob says what it costs.
/// </summary>
public sealed class ShockwaveTransportOptions
{
    /// <summary>
    /// The largest single receive, in bytes (default 64 KiB, at least 4 KiB). A connection reads into a 4 KiB block after
    /// waiting for data; only when a receive fills its block (the peer is streaming) does the next one take a block this
    /// large, so an idle or chatty connection never holds one.
    /// </summary>
    public int MaxReceiveSize { get; set; } = 64 * 1024;

    /// <summary>
    /// Bytes received but not yet consumed by the application at which the transport stops reading (default 1 MiB), so a
    /// peer that sends faster than the application reads is slowed by TCP flow control instead of growing memory.
    /// </summary>
    public long MaxReadBufferSize { get; set; } = 1024 * 1024;

    /// <summary>
    /// Bytes written by the application but not yet sent at which its flush waits (default 64 KiB, as Kestrel).
    /// </summary>
    public long MaxWriteBufferSize { get; set; } = 64 * 1024;

    /// <summary>Disable Nagle's algorithm on accepted TCP connections (default true, as Kestrel).</summary>
    public bool NoDelay { get; set; } = true;

    /// <summary>The listen backlog (default 512, as Kestrel).</summary>
    public int Backlog { get; set; } = 512;

    /// <summary>
    /// Buffer blocks kept for reuse once returned, per size (default 4,096 blocks of 4 KiB and 128 of the large size:
    /// 16 MiB and 8 MiB at most); beyond that a returned block is left to the garbage collector, so a burst of
    /// connections does not pin its peak memory for the life of the process.
    /// </summary>
    public int MaxRetainedBlocks { get; set; } = 4096;

    internal int MaxRetainedLargeBlocks => Math.Max(1, MaxRetainedBlocks / 32);
}
