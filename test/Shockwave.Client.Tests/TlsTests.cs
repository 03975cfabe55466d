using System.Collections.Concurrent;
using System.Net;
using System.Net.Security;
using System.Security.Authentication;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Shockwave.Client.Tests;

/// <summary>wss:// against our own server on a real Kestrel with HTTPS and a self-signed certificate made by the test.</summary>
public sealed class TlsTests : IAsyncLifetime
{
    private readonly ConcurrentQueue<string?> _serverNames = new();
    private X509Certificate2 _certificate = null!;
    private WebApplication _app = null!;
    private int _port;

    public async Task InitializeAsync()
    {
        _certificate = CreateCertificate();
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseKestrel(kestrel => kestrel.Listen(IPAddress.Loopback, 0, listen => listen.UseHttps(https =>
        {
            // Records the SNI name each client sent.
            https.ServerCertificateSelector = (_, name) =>
            {
                _serverNames.Enqueue(name);
                return _certificate;
            };
        })));
        builder.Services.AddWibeSocket(options => options.Drain.Enabled = false);
        _app = builder.Build();
        _app.MapWibeSocket("/echo", async (socket, cancellationToken) =>
        {
            await foreach (var message in socket.ReadMessagesAsync(cancellationToken))
            {
                await socket.SendAsync(message, cancellationToken);
            }
        }, options => options.Compression.Enabled = true);
        await _app.StartAsync();
        _port = new Uri(_app.Services.GetRequiredService<IServer>().Features.GetRequiredFeature<IServerAddressesFeature>().Addresses.Single()).Port;
    }

    public async Task DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
        _certificate.Dispose();
    }

    [Fact]
    public async Task Wss_CallbackTrustsTheCertificate_SniIsTheHostAndMessagesFlow()
    {
        string? targetHost = null;
        var options = new WibeSocketClientOptions
        {
            RemoteCertificateValidationCallback = (sender, certificate, _, _) =>
            {
                targetHost = ((SslStream)sender).TargetHostName;
                return certificate is not null && certificate.GetCertHashString() == _certificate.GetCertHashString();
            },
        };
        options.Compression.Enabled = true;

        await using var socket = await WibeSocketClient.ConnectAsync(new Uri($"wss://localhost:{_port}/echo"), options);

        Assert.Equal("localhost", targetHost);
        Assert.Equal("localhost", Assert.Single(_serverNames));
        Assert.NotNull(socket.Compression);
        foreach (int size in new[] { 0, 125, 70_000, 4 * 1024 * 1024 })
        {
            await RoundTrip.AssertEchoAsync(socket, Payloads.Create(size, text: false), text: false);
        }

        await socket.CloseAsync();
        Assert.Equal(WibeSocketState.Closed, socket.State);
    }

    [Fact]
    public async Task Wss_UntrustedCertificateWithoutCallback_AuthenticationException()
    {
        await Assert.ThrowsAsync<AuthenticationException>(() => WibeSocketClient.ConnectAsync(new Uri($"wss://localhost:{_port}/echo")));
    }

    private static X509Certificate2 CreateCertificate()
    {
        using var key = RSA.Create(2048);
        var request = new CertificateRequest("CN=localhost", key, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        var names = new SubjectAlternativeNameBuilder();
        names.AddDnsName("localhost");
        names.AddIpAddress(IPAddress.Loopback);
        request.CertificateExtensions.Add(names.Build());
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.1")], critical: false));
        using var certificate = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddMinutes(-5), DateTimeOffset.UtcNow.AddHours(1));

        // Through PKCS#12 so the private key is usable by SslStream on every platform.
        return X509CertificateLoader.LoadPkcs12(certificate.Export(X509ContentType.Pfx), null);
    }
}
