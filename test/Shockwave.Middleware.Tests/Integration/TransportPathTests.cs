using System.Net;
using System.Net.WebSockets;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Shockwave.Middleware.Tests.Support;

namespace Shockwave.Middleware.Tests.Integration;

/// <summary>
/// Which transport the runtime ran on, as its ConnectionOpened line (event 1) names it. On Kestrel HTTP/1.1 the
/// zero-copy path over the connection's own pipes must be taken ("kestrel-transport"): a Kestrel update that stops
/// exposing them would silently fall back, and these tests catch it. HTTP/2 must take the portable path.
/// </summary>
public sealed class TransportPathTests
{
    private const int ConnectionOpened = 1;

    [Fact]
    public async Task Http11_TakesTheKestrelTransportPath()
    {
        await using var app = await KestrelApp.StartAsync(e => e.MapWibeSocket("/echo", Handlers.EchoAsync));
        using var socket = await ClientWebSocketExtensions.ConnectAsync(app.WebSocketUri("/echo"));

        await socket.SendTextAsync("zero-copy");
        Assert.Equal("zero-copy", (await socket.ReceiveMessageAsync()).Text);

        var opened = await app.Logs.WaitForEventAsync(ConnectionOpened);
        Assert.Equal("kestrel-transport", opened.Value("Transport"));
        await socket.CloseBoundedAsync();
    }

    // R6455-10.6-a, R6455-4.2.2-b: TLS first, then the handshake and every frame through it; the TLS pipe is still
    // Kestrel's connection transport, so the zero-copy path holds.
    [Fact]
    public async Task Tls_EchoesOnTheKestrelTransportPath()
    {
        using var certificate = TestCertificate.Create();
        await using var app = await KestrelApp.StartAsync(
            e => e.MapWibeSocket("/echo", Handlers.EchoAsync),
            new TestAppOptions { Listen = listen => listen.UseHttps(certificate) });
        Assert.Equal("https", app.BaseUri.Scheme);

        string? seenThumbprint = null;
        using var socket = await ClientWebSocketExtensions.ConnectAsync(app.WebSocketUri("/echo"), options =>
            options.RemoteCertificateValidationCallback = (_, presented, _, _) =>
            {
                seenThumbprint = presented?.GetCertHashString();
                return seenThumbprint == certificate.GetCertHashString();
            });

        var payload = new byte[256 * 1024];
        Random.Shared.NextBytes(payload);
        using var timeout = new CancellationTokenSource(Eventually.DefaultTimeout);
        await socket.SendAsync(payload, WebSocketMessageType.Binary, endOfMessage: true, timeout.Token);
        var echoed = await socket.ReceiveMessageAsync();

        Assert.Equal(certificate.GetCertHashString(), seenThumbprint);
        Assert.Equal(WebSocketMessageType.Binary, echoed.Type);
        Assert.Equal(payload, echoed.Payload);
        var opened = await app.Logs.WaitForEventAsync(ConnectionOpened);
        Assert.Equal("kestrel-transport", opened.Value("Transport"));
        await socket.CloseBoundedAsync();
        Assert.Equal(WebSocketCloseStatus.NormalClosure, socket.CloseStatus);
    }

    // RFC 8441: extended CONNECT on an h2c listener; no raw transport exists for an HTTP/2 stream, so the runtime must
    // run on pipes over the accepted stream.
    [Fact]
    public async Task Http2ExtendedConnect_EchoesOnTheUpgradeStreamPath()
    {
        await using var app = await KestrelApp.StartAsync(
            e => e.MapWibeSocket("/echo", Handlers.EchoAsync),
            new TestAppOptions { Listen = listen => listen.Protocols = HttpProtocols.Http2 });
        using var invoker = new HttpMessageInvoker(new SocketsHttpHandler());
        using var socket = await ClientWebSocketExtensions.ConnectAsync(app.WebSocketUri("/echo"), options =>
        {
            options.HttpVersion = HttpVersion.Version20;
            options.HttpVersionPolicy = HttpVersionPolicy.RequestVersionExact;
        }, invoker);

        foreach (int size in new[] { 0, 125, 70_000 })
        {
            string text = new('h', size);
            await socket.SendTextAsync(text);
            var echoed = await socket.ReceiveMessageAsync();
            Assert.Equal(WebSocketMessageType.Text, echoed.Type);
            Assert.Equal(text, echoed.Text);
        }

        var opened = await app.Logs.WaitForEventAsync(ConnectionOpened);
        Assert.Equal("upgrade-stream", opened.Value("Transport"));
        await socket.CloseBoundedAsync(WebSocketCloseStatus.NormalClosure, "h2 done");
        Assert.Equal(WebSocketCloseStatus.NormalClosure, socket.CloseStatus);
    }
}
