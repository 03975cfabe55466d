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
    }
}
