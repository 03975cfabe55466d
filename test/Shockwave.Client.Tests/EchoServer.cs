using System.Collections.Concurrent;
using System.Net;
using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Shockwave.Protocol;

namespace Shockwave.Client.Tests;

/// <summary>
/// Our own server on a real Kestrel at 127.0.0.1: an echo endpoint plain and with permessage-deflate, one that reports the
/// handshake's headers, one that closes with the code a message asks for, and a record of the close each connection got.
/// Can be stopped and started again on the same port, for the reconnect tests.
/// </summary>
public sealed class EchoServer : IAsyncDisposable
{
    public const string Plain = "/echo";
    public const string Deflate = "/echo-deflate";
    public const string Headers = "/headers";

    /// <summary>Echoes, except that a text message <c>close:CODE:REASON</c> makes the server close with that code.</summary>
    public const string Commands = "/commands";

    private readonly ConcurrentQueue<PeerClose> _peerCloses = new();
    private WebApplication? _app;
    private int _port;

    public Uri BaseUri => new($"ws://127.0.0.1:{_port}/");

    private int _connections;

    public int Connections => Volatile.Read(ref _connections);

    public Uri Url(string path) => new(BaseUri, path);

    /// <summary>The closes the server's connections received from the client, in order.</summary>
    public IReadOnlyCollection<PeerClose> PeerCloses => _peerCloses;

    public static async Task<EchoServer> StartAsync(int port = 0)
    {
        var server = new EchoServer { _port = port };
        await server.StartAsync();
        return server;
    }

    public async Task StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseKestrel(kestrel => kestrel.Listen(IPAddress.Loopback, _port));
        builder.Services.AddWibeSocket(options =>
        {
            options.MaxFramePayloadLength = 64 * 1024 * 1024;
            options.MaxMessageSize = 64 * 1024 * 1024;
            options.MaxFragmentsPerMessage = 1 << 20;
            options.SendQueueLimit = 64 * 1024 * 1024;
            options.Drain.Enabled = false;
        });

        var app = builder.Build();
        app.MapWibeSocket(Plain, EchoAsync, options => options.SubProtocols.Add("chat.v2"));
        app.MapWibeSocket(Deflate, EchoAsync, options =>
        {
            options.Compression.Enabled = true;
            options.Compression.MinMessageSizeToCompress = 0;
        });
        app.MapWibeSocket(Headers, async (socket, cancellationToken) =>
        {
            var request = socket.HttpContext!.Request;
            string report = $"authorization={request.Headers.Authorization};cookie={request.Headers.Cookie};origin={request.Headers.Origin};protocol={socket.SubProtocol}";
            await socket.SendTextAsync(report, cancellationToken);
            await foreach (var _ in socket.ReadMessagesAsync(cancellationToken))
            {
            }
        }, options => options.SubProtocols.Add("chat.v2"));
        app.MapWibeSocket(Commands, CommandsAsync);

        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        await app.StartAsync(timeout.Token);
        _app = app;
        var address = app.Services.GetRequiredService<IServer>().Features.GetRequiredFeature<IServerAddressesFeature>().Addresses.Single();
        _port = new Uri(address).Port;
    }

    public async Task StopAsync()
    {
        if (_app is { } app)
        {
            _app = null;
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
            await app.StopAsync(timeout.Token);
            await app.DisposeAsync();
        }
    }

    public ValueTask DisposeAsync() => new(StopAsync());

    private async Task EchoAsync(WibeSocket socket, CancellationToken cancellationToken)
    {
        Interlocked.Increment(ref _connections);
        try
        {
            await foreach (var message in socket.ReadMessagesAsync(cancellationToken))
            {
                await socket.SendAsync(message, cancellationToken);
            }
        }
        finally
        {
            _peerCloses.Enqueue(new PeerClose(socket.CloseStatus, socket.CloseStatusDescription));
        }
    }

    private async Task CommandsAsync(WibeSocket socket, CancellationToken cancellationToken)
    {
        Interlocked.Increment(ref _connections);
        await foreach (var message in socket.ReadMessagesAsync(cancellationToken))
        {
            if (message.IsText && message.GetText() is var text && text.StartsWith("close:", StringComparison.Ordinal))
            {
                var parts = text.Split(':', 3);
                await socket.CloseAsync((WebSocketCloseStatus)int.Parse(parts[1]), parts[2], cancellationToken);
                return;
            }

            await socket.SendAsync(message, cancellationToken);
        }
    }
}

public sealed record PeerClose(WebSocketCloseStatus? Status, string? Reason);

/// <summary>Deterministic payloads: text is valid UTF-8 of the exact byte length, binary is pseudo-random.</summary>
public static class Payloads
{
    public static readonly int[] Sizes = [0, 1, 125, 126, 65535, 65536, 1024 * 1024, 16 * 1024 * 1024];

    public static byte[] Create(int size, bool text, int seed = 1)
    {
        var bytes = new byte[size];
        if (text)
        {
            const string alphabet = "abcdefghijklmnopqrstuvwxyz ABCDEFGHIJKLMNOPQRSTUVWXYZ 0123456789";
            for (int i = 0; i < size; i++)
            {
                bytes[i] = (byte)alphabet[(i * 31 + seed) % alphabet.Length];
            }
        }
        else
        {
            new Random(seed + size).NextBytes(bytes);
        }

        return bytes;
    }

    public static string Describe(byte[] expected, byte[] actual) =>
        expected.Length == actual.Length
            ? $"{expected.Length} bytes, first difference at {expected.AsSpan().CommonPrefixLength(actual)}"
            : $"expected {expected.Length} bytes, got {actual.Length}";

    public static string Ascii(byte[] bytes) => Encoding.ASCII.GetString(bytes);
}
