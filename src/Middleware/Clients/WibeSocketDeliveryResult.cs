namespace Shockwave;

/// <summary>
/// What a send to an audience did, counted per recipient connection. A send returns once the message is queued for
/// every local recipient, never when a peer has read it; a recipient's failure is the recipient's and shows here, never
/// as an exception in the sender.
/// </summary>
/// <param name="Queued">Recipients the message was queued for (it leaves in order with their other sends).</param>
/// <param name="Dropped">Recipients past their send budget whose policy is to drop: they miss this message.</param>
/// <param name="Closed">Recipients past their send budget whose policy is to close: they are being closed with 1013.</param>
/// <param name="Skipped">Recipients already closing or closed, which may receive nothing more (RFC 6455 section 5.5.1).</param>
public readonly record struct WibeSocketDeliveryResult(int Queued, int Dropped, int Closed, int Skipped)
{
    /// <summary>How many recipients the audience had on this node.</summary>
    public int Recipients => Queued + Dropped + Closed + Skipped;

    /// <summary>
    /// What happened to the part of the audience on other nodes: <see cref="WibeSocketRemoteDelivery.None"/> without a
    /// backplane (or when the audience is known to be local only), else whether the broker took the message.
    /// </summary>
    public WibeSocketRemoteDelivery Remote { get; init; }

    /// <summary>Adds two results (an audience split across sends); the remote part is the worse of the two.</summary>
    public static WibeSocketDeliveryResult operator +(WibeSocketDeliveryResult left, WibeSocketDeliveryResult right) =>
        new(left.Queued + right.Queued, left.Dropped + right.Dropped, left.Closed + right.Closed, left.Skipped + right.Skipped)
        {
            Remote = (WibeSocketRemoteDelivery)Math.Max((int)left.Remote, (int)right.Remote),
        };

    /// <summary>Adds two results; the named alternative to <c>+</c>.</summary>
    public static WibeSocketDeliveryResult Add(WibeSocketDeliveryResult left, WibeSocketDeliveryResult right) => left + right;
}

/// <summary>What a connection past its send budget gets (<see cref="WibeSocketOptions.SlowConsumerPolicy"/>).</summary>
public enum WibeSocketSlowConsumerPolicy
{
    /// <summary>
    /// Close it with 1013 (Try Again Later): a client that fell behind reconnects and resyncs from the application's own
    /// state, instead of silently missing messages. The default.
    /// </summary>
    Close,

    /// <summary>Drop the message for that connection only, and keep it open: for feeds where the latest value wins.</summary>
    Drop,
}

/// <summary>What a send did beyond this node (scale-out through a backplane).</summary>
public enum WibeSocketRemoteDelivery
{
    /// <summary>Nothing had to leave this node: no backplane, or a recipient known to be here.</summary>
    None,

    /// <summary>The broker took the message for the other nodes (at most once from there on; see the backplane docs).</summary>
    Published,

    /// <summary>The broker could not be reached in time: other nodes' recipients miss this message (logged and counted).</summary>
    NotDelivered,
}
