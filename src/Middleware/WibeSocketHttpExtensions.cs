using Microsoft.AspNetCore.Http;
using Shockwave.Runtime;

namespace Shockwave;

/// <summary>Server-side access to a <see cref="WibeSocket"/>: what only a connection accepted by this server has.</summary>
public static class WibeSocketHttpExtensions
{
    extension(WibeSocket socket)
    {
        /// <summary>
        /// The upgrade request's context on the endpoint-routing path (<c>MapWibeSocket</c>); null on the raw Kestrel
        /// listener, which has no HTTP pipeline, and on a client's socket.
        /// </summary>
        public HttpContext? HttpContext => (socket as WibeSocketConnection)?.HostContext as HttpContext;

        /// <summary>
        /// The connections of the endpoint this socket belongs to (its hub type's, or its delegate endpoint's): broadcast,
        /// groups and users from inside a handler.
        /// </summary>
        /// <exception cref="InvalidOperationException">The socket was not accepted by a WibeSocket endpoint of this server.</exception>
        public IWibeSocketClients Clients => (socket as WibeSocketConnection)?.Setup.Observer as IWibeSocketClients
            ?? throw new InvalidOperationException("This socket was not accepted by a WibeSocket endpoint, so it has no endpoint clients.");
    }
}
