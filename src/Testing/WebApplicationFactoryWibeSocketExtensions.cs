using Microsoft.AspNetCore.TestHost;
using Shockwave.Testing;

namespace Microsoft.AspNetCore.Mvc.Testing;

/// <summary>Creates WibeSocket test clients for a <see cref="WebApplicationFactory{TEntryPoint}"/>.</summary>
public static class WebApplicationFactoryWibeSocketExtensions
{
    /// <summary>
    /// Creates a client for the factory's <see cref="WebApplicationFactory{TEntryPoint}.Server"/>, starting the app if
    /// it has not started yet.
    /// </summary>
    public static WibeSocketTestClient CreateWibeSocketClient<TEntryPoint>(this WebApplicationFactory<TEntryPoint> factory)
        where TEntryPoint : class
    {
        ArgumentNullException.ThrowIfNull(factory);
        return factory.Server.CreateWibeSocketClient();
    }
}
