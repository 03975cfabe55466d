using Shockwave.Protocol;

namespace Shockwave;

/// <summary>
/// Graceful drain: what happens to open connections when the host stops (SIGTERM on Kubernetes) or the application
/// asks for a drain (<see cref="IWibeSocketDrain"/>). On by default.
/// </summary>
public sealed class WibeSocketDrainOptions
{
    /// <summary>
    /// True (the default) to drain: new upgrades are refused with 503 and <c>Retry-After</c>, the readiness check turns
    /// unhealthy, and open connections are closed at random moments spread over <see cref="Window"/>. False closes every
    /// connection with 1001 the moment the host begins stopping.
    /// </summary>
    public bool Enabled { get; set; } = true;

    /// <summary>
    /// The time over which closes are spread, each connection at its own random moment in it, so clients do not all
    /// reconnect in the same second. The default is 20 seconds: with the 5 s close timeout it fits the default 30 s
    /// <c>HostOptions.ShutdownTimeout</c>, which the library checks at start.
    /// </summary>
    public TimeSpan Window { get; set; } = TimeSpan.FromSeconds(20);

    /// <summary>
    /// The close code sent: 1012 (Service Restart, the default: "reconnect, another instance will serve you") or 1001
    /// (Going Away), or any code valid on the wire.
    /// </summary>
    public WebSocketCloseStatus CloseStatus { get; set; } = WebSocketCloseStatus.ServiceRestart;

    /// <summary>The <c>Retry-After</c> an upgrade refused during the drain carries. The default is 5 seconds.</summary>
    public TimeSpan RetryAfter { get; set; } = TimeSpan.FromSeconds(5);

    internal WibeSocketDrainOptions Clone() => (WibeSocketDrainOptions)MemberwiseClone();
}

/// <summary>Drains this node's WibeSocket connections on demand, and tells how a drain is going.</summary>
public interface IWibeSocketDrain
{
    /// <summary>True from the moment a drain starts (or the host begins stopping) on.</summary>
    bool IsDraining { get; }

    /// <summary>Open connections still to close (0 when not draining).</summary>
    int RemainingConnections { get; }

    /// <summary>
    /// Starts a drain, or joins the one running: refuses new upgrades from now on, and closes every open connection at
    /// a random moment within the drain window. Completes when every connection has ended. The application keeps
    /// running (take the node out of rotation before a maintenance, say); host shutdown drains by itself.
    /// </summary>
    Task DrainAsync(CancellationToken cancellationToken = default);
}
