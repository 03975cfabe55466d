using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Net.Http.Headers;
using Shockwave.Protocol.Handshake;

namespace Shockwave.Testing;

/// <summary>
/// An opaque upgrade for TestServer, which has none of its own: it answers 101 through TestHost's response and hands
/// the app the server end of an in-memory duplex pipe, behaving like Kestrel's HTTP/1.1 upgrade where tests can tell.
/// </summary>
internal sealed class InMemoryUpgradeFeature : IHttpUpgradeFeature
{
    private readonly HttpContext _context;
    private readonly DuplexPipeStream _serverStream;
    private int _upgraded;

    public InMemoryUpgradeFeature(HttpContext context, DuplexPipeStream serverStream)
    {
        _context = context;
        _serverStream = serverStream;
    }

    /// <summary>
    /// As on Kestrel, a request is upgradable when its <c>Connection</c> header lists <c>upgrade</c>. The test client
    /// always sends it; a test that removes it sees the app's answer to a plain request, as it would on Kestrel.
    /// </summary>
    public bool IsUpgradableRequest
    {
        get
        {
            foreach (var value in _context.Request.Headers.Connection)
            {
                if (value is not null && HeaderTokens.ContainsToken(value, "upgrade"))
                {
                    return true;
                }
            }

            return false;
        }
    }

    /// <summary>True once <see cref="UpgradeAsync"/> has sent the 101.</summary>
    public bool IsUpgraded => Volatile.Read(ref _upgraded) != 0;

    public async Task<Stream> UpgradeAsync()
    {
        // The same two refusals as Kestrel (HttpProtocol.FeatureCollection.cs), with the same exception type.
        if (!IsUpgradableRequest)
        {
            throw new InvalidOperationException("Cannot upgrade a non-upgradable request. Check IHttpUpgradeFeature.IsUpgradableRequest first.");
        }

        if (Interlocked.Exchange(ref _upgraded, 1) != 0)
        {
            throw new InvalidOperationException("IHttpUpgradeFeature.UpgradeAsync was already called for this request.");
        }

        var response = _context.Response;
        response.StatusCode = StatusCodes.Status101SwitchingProtocols;
        var responseFeature = _context.Features.Get<IHttpResponseFeature>();
        if (responseFeature is not null)
        {
            responseFeature.ReasonPhrase = "Switching Protocols";
        }

        // Kestrel sets this itself, so an app that forgets it still works there; do the same so tests agree.
        response.Headers[HeaderNames.Connection] = "Upgrade";

        // TestHost hands the response to the waiting client only on the first write or flush of the body pipe;
        // StartAsync alone runs the OnStarting callbacks but leaves the client waiting.
        await response.BodyWriter.FlushAsync(_context.RequestAborted).ConfigureAwait(false);

        // Kestrel refuses response body writes after an upgrade; without this they would silently become body bytes.
        _context.Features.Set<IHttpResponseBodyFeature>(new UpgradedResponseBodyFeature());
        return _serverStream;
    }
}
