using Shockwave.Testing;

namespace Microsoft.AspNetCore.TestHost;

/// <summary>Creates WibeSocket test clients for a <see cref="TestServer"/>.</summary>
public static class TestServerWibeSocketExtensions
{
    /// <summary>
    /// Creates a client that performs real RFC 6455 handshakes and speaks real frames to the app through its whole
    /// middleware pipeline, over an in-memory connection.
    /// </summary>
    public static WibeSocketTestClient CreateWibeSocketClient(this TestServer server) => new(server);
}
