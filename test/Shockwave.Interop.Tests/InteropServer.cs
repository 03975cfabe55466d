using System.Collections.Concurrent;
using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Shockwave.Tests.Shared;

namespace Shockwave.Interop.Tests;

/// <summary>
/// A real Kestrel on 127.0.0.1 (ephemeral port) serving echo endpoints built like <c>samples/Echo</c>: plain, deflate
/// with defaults, and deflate endpoints whose server policy changes what is negotiated. It also serves the browser
/// interop page (test/interop/browser.html), so the page's WebSockets are same-origin.
/// </summary>
public sealed class InteropServer : IAsyncLifetime
{
    /// <summary>Plain echo: compression disabled, every offer declined.</summary>
    public const string Plain = "/echo";

    /// <summary>Deflate with the sample's defaults.</summary>
    public const string Deflate = "/echo-deflate";

    /// <summary>Deflate that compresses every message, even 1 byte (<c>MinMessageSizeToCompress = 0</c>).</summary>
    public const string DeflateAll = "/echo-deflate-all";

    /// <summary>Deflate with <c>ServerNoContextTakeover</c>.</summary>
    public const string DeflateServerNoContext = "/echo-deflate-server-nct";

    /// <summary>Deflate with <c>RequireClientNoContextTakeover</c>.</summary>
    public const string DeflateClientNoContext = "/echo-deflate-client-nct";

    /// <summary>Deflate with <c>ServerMaxWindowBits = 10</c>.</summary>
    public const string DeflateServerBits10 = "/echo-deflate-bits10";

    /// <summary>The browser interop page, over HTTP.</summary>
    public const string BrowserPage = "/browser.html";

    /// <summary>The query parameter that names an echo connection, so the close it received can be looked up.</summary>
    public const string ClientQuery = "client";

    private readonly ConcurrentDictionary<string, TaskCompletionSource<PeerClose>> _peerCloses = new(StringComparer.Ordinal);

    private WebApplication? _app;

    public Uri BaseUri { get; private set; } = null!;

    public Uri Url(string path) => new(BaseUri, path);

    /// <summary>An <c>http://</c> address on this server, for what a browser loads.</summary>
    public Uri HttpUrl(string pathAndQuery) => new(new UriBuilder(BaseUri) { Scheme = Uri.UriSchemeHttp }.Uri, pathAndQuery);

    /// <summary>
    /// The close that the echo connection opened with <c>?client=<paramref name="client"/></c> received from its peer,
    /// once its handler has seen it.
    /// </summary>
    public Task<PeerClose> PeerCloseAsync(string client) => PeerCloseSource(client).Task;

    public async Task InitializeAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseKestrel(kestrel => kestrel.Listen(IPAddress.Loopback, 0));
        TestTransport.Apply(builder.WebHost);
        builder.Services.AddWibeSocket(options =>
        {
            // As the sample: wide enough for 16 MiB messages sent as one frame (random data grows a little when deflated).
            options.MaxFramePayloadLength = 64 * 1024 * 1024;
            options.MaxMessageSize = 64 * 1024 * 1024;
            options.MaxFragmentsPerMessage = 1 << 20;
            options.Drain.Enabled = false; // the fixture stops at once
        });

        var app = builder.Build();
        string page = Path.Combine(ExternalClient.InteropDirectory, "browser.html");
        app.MapGet(BrowserPage, () => TypedResults.PhysicalFile(page, "text/html; charset=utf-8"));
        app.MapWibeSocket(Plain, EchoAsync);
        app.MapWibeSocket(Deflate, EchoAsync, options => options.Compression.Enabled = true);
        app.MapWibeSocket(DeflateAll, EchoAsync, options =>
        {
            options.Compression.Enabled = true;
            options.Compression.MinMessageSizeToCompress = 0;
        });
        app.MapWibeSocket(DeflateServerNoContext, EchoAsync, options =>
        {
            options.Compression.Enabled = true;
            options.Compression.ServerNoContextTakeover = true;
        });
        app.MapWibeSocket(DeflateClientNoContext, EchoAsync, options =>
        {
            options.Compression.Enabled = true;
            options.Compression.RequireClientNoContextTakeover = true;
        });
        app.MapWibeSocket(DeflateServerBits10, EchoAsync, options =>
        {
            options.Compression.Enabled = true;
            options.Compression.ServerMaxWindowBits = 10;
        });

        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        await app.StartAsync(timeout.Token);
        _app = app;

        var address = app.Services.GetRequiredService<IServer>().Features.GetRequiredFeature<IServerAddressesFeature>().Addresses.Single();
        BaseUri = new Uri(address.Replace("http://", "ws://", StringComparison.Ordinal));
    }

    public async Task DisposeAsync()
    {
        if (_app is not null)
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
            await _app.StopAsync(timeout.Token);
            await _app.DisposeAsync();
        }
    }

    private async Task EchoAsync(WibeSocket socket, CancellationToken cancellationToken)
    {
        string? client = socket.HttpContext?.Request.Query[ClientQuery].SingleOrDefault();
        try
        {
            await foreach (var message in socket.ReadMessagesAsync(cancellationToken))
            {
                await socket.SendAsync(message, cancellationToken);
            }
        }
        finally
        {
            // Also when the handler fails, so a waiting test sees what the connection had instead of timing out.
            if (client is not null)
            {
                PeerCloseSource(client).TrySetResult(new PeerClose(socket.CloseStatus is { } status ? (int)status : null, socket.CloseStatusDescription));
            }
        }
    }

    private TaskCompletionSource<PeerClose> PeerCloseSource(string client) =>
        _peerCloses.GetOrAdd(client, _ => new TaskCompletionSource<PeerClose>(TaskCreationOptions.RunContinuationsAsynchronously));
}

/// <summary>The close status and reason an echo connection received from its peer (null when it carried none).</summary>
public sealed record PeerClose(int? Code, string? Reason);
