using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace Shockwave.Backplane;

/// <summary>How a node takes part in scale-out: its name on the broker, its channels, and what it does about lost messages.</summary>
public sealed class WibeSocketBackplaneOptions
{
    /// <summary>The configuration section these options bind from (<c>WibeSocket:Backplane</c>).</summary>
    public const string ConfigurationSectionName = "WibeSocket:Backplane";

    /// <summary>
    /// Prepended to every channel name, so applications sharing one broker do not hear each other. Default
    /// <c>shockwave</c>; letters, digits, '-', '_' and '.' only.
    /// </summary>
    public string ChannelPrefix { get; set; } = "shockwave";

    /// <summary>
    /// This node's name on the broker, the first part of its connection ids. Default: the machine name (the pod name on
    /// Kubernetes) and a random suffix, unique per process. Letters, digits, '-' and '_' only.
    /// </summary>
    public string NodeId { get; set; } = DefaultNodeId();

    /// <summary>The largest message payload a send may publish, in bytes (default 1 MiB); a larger one is refused before anything is sent.</summary>
    public int MaxPayloadLength { get; set; } = 1024 * 1024;

    /// <summary>How long a send waits for the broker to take a message before it reports the remote part as not delivered (default 2 s).</summary>
    public TimeSpan PublishTimeout { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>
    /// What the <c>wibesocket-backplane</c> readiness check reports while the broker is unreachable. Default
    /// <see cref="HealthStatus.Degraded"/>: readiness stays 200, because failing every pod's readiness on a shared broker
    /// outage would take the whole service out of rotation while local delivery still works.
    /// </summary>
    public HealthStatus UnreachableStatus { get; set; } = HealthStatus.Degraded;

    /// <summary>
    /// Called when this node finds that messages for its connections were lost (see <see cref="WibeSocketBackplaneGap"/>).
    /// The library has already logged it and counted it; by default nothing else happens and no connection is closed. An
    /// application that can resync its clients may close the affected ones, e.g. with
    /// <see cref="WibeSocketBackplaneGap.CloseAffectedConnections"/> and 1012, so they reconnect and reload.
    /// </summary>
    public Func<WibeSocketBackplaneGap, CancellationToken, ValueTask>? OnGap { get; set; }

    private static string DefaultNodeId()
    {
        Span<char> name = stackalloc char[Math.Min(Environment.MachineName.Length, 40)];
        for (int i = 0; i < name.Length; i++)
        {
            char c = Environment.MachineName[i];
            name[i] = char.IsAsciiLetterOrDigit(c) || c is '-' or '_' ? c : '-';
        }

        return string.Concat(name, "-", Convert.ToHexStringLower(BitConverter.GetBytes(Random.Shared.Next())));
    }
}
