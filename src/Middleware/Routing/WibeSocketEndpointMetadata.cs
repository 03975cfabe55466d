using Shockwave.Upgrade;

namespace Shockwave;

/// <summary>Marks an endpoint as a WibeSocket endpoint; the raw Kestrel listener routes to endpoints that carry it.</summary>
public sealed class WibeSocketEndpointMetadata
{
    internal WibeSocketEndpointMetadata(WibeSocketEndpoint endpoint) => Endpoint = endpoint;

    /// <summary>The route pattern the endpoint was mapped with.</summary>
    public string Pattern => Endpoint.Pattern;

    internal WibeSocketEndpoint Endpoint { get; }
}
