using System.Net;
using System.Net.WebSockets;
using BenchmarkDotNet.Attributes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Shockwave.Client;

namespace Shockwave.Benchmarks;

/// <summary>
/// One client round trip (send a binary message, receive its echo) against an in-process Kestrel echo server on
/// 127.0.0.1 (MapWibeSocket, no compression): <see cref="WibeSocketClient"/> against <see cref="ClientWebSocket"/>, the
/// baseline. Both clients share the server, the loopback TCP stack and the machine, so the ratio is the client's cost.
/// </summary>
[MemoryDiagnoser]
public class ClientRoundTripBenchmarks
{
    private WebApplication _app = null!;
    private WibeSocketClientConnection _wibe = null!;
    private ClientWebSocket _dotnet = null!;
    private byte[] _payload = [];
    private byte[] _receiveBuffer = [];

    [Params(64, 16 * 1024)]
    public int Size { get; set; }

    [GlobalSetup]
    public async Task SetupAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseKestrel(kestrel => kestrel.Listen(IPAddress.Loopback, 0));
        builder.Services.AddWibeSocket(options => options.Drain.Enabled = false);
        _app = builder.Build();
        _app.MapWibeSocket("/echo", async (socket, cancellationToken) =>
        {
            await foreach (var message in socket.ReadMessagesAsync(cancellationToken))
            {
                await socket.SendAsync(message, cancellationToken);
            }
        });
        await _app.StartAsync();
        var address = _app.Services.GetRequiredService<IServer>().Features.GetRequiredFeature<IServerAddressesFeature>().Addresses.Single();
        var uri = new Uri(address.Replace("http://", "ws://", StringComparison.Ordinal) + "/echo");

        _payload = new byte[Size];
        new Random(42).NextBytes(_payload);
        _receiveBuffer = new byte[Size + 1024];

        // Keep-alive off on both: a ping in the middle of a measurement would only add noise.
        _wibe = await WibeSocketClient.ConnectAsync(uri, new WibeSocketClientOptions { KeepAliveInterval = TimeSpan.Zero });
        _dotnet = new ClientWebSocket();
        _dotnet.Options.KeepAliveInterval = TimeSpan.Zero;
        await _dotnet.ConnectAsync(uri, CancellationToken.None);
    }

    [GlobalCleanup]
    public async Task CleanupAsync()
    {
        await _wibe.CloseAsync();
        await _dotnet.CloseAsync(WebSocketCloseStatus.NormalClosure, null, CancellationToken.None);
        _dotnet.Dispose();
        await _app.StopAsync();
        await _app.DisposeAsync();
    }

    [Benchmark(Baseline = true)]
    public async Task<int> ClientWebSocketRoundTrip()
    {
        await _dotnet.SendAsync(_payload, WebSocketMessageType.Binary, endOfMessage: true, CancellationToken.None);
        int received = 0;
        while (true)
        {
            var result = await _dotnet.ReceiveAsync(_receiveBuffer.AsMemory(received), CancellationToken.None);
            received += result.Count;
            if (result.EndOfMessage)
            {
                return received;
            }
        }
    }

    [Benchmark]
    public async Task<int> WibeSocketClientRoundTrip()
    {
        await _wibe.SendAsync(_payload, WibeSocketMessageType.Binary);
        var message = await _wibe.ReceiveAsync();
        return (int)message.Length;
    }
}
