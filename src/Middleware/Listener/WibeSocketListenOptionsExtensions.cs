using Microsoft.AspNetCore.Server.Kestrel.Core;
using Shockwave.Listener;

namespace Microsoft.AspNetCore.Hosting;

/// <summary>Serves WibeSockets straight from a Kestrel listen endpoint, without the HTTP stack.</summary>
public static class WibeSocketListenOptionsExtensions
{
    /// <summary>
    /// Makes this listen endpoint a raw WibeSocket listener: it reads the HTTP/1.1 upgrade request itself, routes its path
    /// to the endpoints mapped with <c>MapWibeSocket</c>, and runs them on Kestrel's connection pipe. Nothing else is
    /// served on this endpoint, and it speaks HTTP/1.1 only (set here, so a preceding <c>UseHttps()</c> offers no h2).
    /// </summary>
    /// <remarks>
    /// <para>
    /// The lowest overhead per connection: no <c>HttpContext</c>, no request features, no HTTP middleware kept alive for
    /// the connection's lifetime. That also means no authentication, authorization or rate limiting: an endpoint that
    /// requires authorization (its metadata, or the app's fallback policy) or rate limiting is answered 403 here, never
    /// served unauthenticated, and a warning names it at startup. Serve such endpoints through an HTTP listener.
    /// </para>
    /// <para>
    /// The handshake is the endpoint path's: the same validation, origin policy, subprotocol and permessage-deflate
    /// negotiation, with the endpoint's options. The request head is limited to <see cref="Shockwave.WibeSocketOptions.MaxRequestHeadSize"/>
    /// (431 past it) and must arrive within <see cref="Shockwave.WibeSocketOptions.HandshakeTimeout"/> (the server-wide values):
    /// past it the connection gets 408, whether it sent part of a request or nothing. Errors are answered
    /// with <c>Connection: close</c> and the connection closes. Requires <c>AddWibeSocket()</c> and endpoint routing;
    /// startup fails with a clear message without them.
    /// </para>
    /// </remarks>
    /// <param name="listenOptions">The Kestrel listen endpoint, for example from <c>options.Listen(IPAddress.Loopback, 5001, lo => lo.UseWibeSocket())</c>.</param>
    /// <returns>The <paramref name="listenOptions"/>.</returns>
    public static ListenOptions UseWibeSocket(this ListenOptions listenOptions)
    {
        ArgumentNullException.ThrowIfNull(listenOptions);
        listenOptions.Protocols = HttpProtocols.Http1;

        // Terminal: the delegate Kestrel appends for HTTP after this one is never reached (platform notes 2.1). Created at
        // bind time, when the application's services and endpoints exist.
        listenOptions.Use(_ => new WibeSocketListener(listenOptions.ApplicationServices).OnConnectedAsync);
        return listenOptions;
    }
}
