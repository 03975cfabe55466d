using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net.WebSockets;
using Microsoft.AspNetCore.Builder;
using Shockwave.Middleware.Tests.Support;
using Xunit.Abstractions;

namespace Shockwave.Middleware.Tests.Integration;

/// <summary>Runs alone: a thousand sockets would skew every timing-sensitive test running beside it.</summary>
[CollectionDefinition(nameof(LoadCollection), DisableParallelization = true)]
public sealed class LoadCollection;

/// <summary>A thousand connections open at once on one Kestrel.</summary>
[Collection(nameof(LoadCollection))]
public sealed class ConcurrentConnectionsTests(ITestOutputHelper output)
{
    private const int Connections = 1000;

    // Kestrel's accept backlog is 512, and a connect storm on 2 cores makes the kernel drop SYNs (retried after 1 s);
    // connecting 50 at a time stays well inside it.
    private const int ConnectConcurrency = 50;

    [Fact]
    public async Task ThousandConnections_EachEchoes_AllOpenAtOnce_ThenClose()
    {
        int open = 0;
        await using var app = await KestrelApp.StartAsync(e => e.MapWibeSocket("/echo", async (socket, ct) =>
        {
            Interlocked.Increment(ref open);
            try
            {
                await Handlers.EchoAsync(socket, ct);
            }
            finally
            {
                Interlocked.Decrement(ref open);
            }
        }));
        using var invoker = new HttpMessageInvoker(new SocketsHttpHandler());
        var sockets = new ConcurrentBag<ClientWebSocket>();
        var clock = Stopwatch.StartNew();
        try
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            var parallel = new ParallelOptions { MaxDegreeOfParallelism = ConnectConcurrency, CancellationToken = timeout.Token };
            await Parallel.ForEachAsync(Enumerable.Range(0, Connections), parallel, async (i, ct) =>
            {
                var socket = new ClientWebSocket();
                sockets.Add(socket);
                await socket.ConnectAsync(app.WebSocketUri("/echo"), invoker, ct);
                byte[] payload = BitConverter.GetBytes(i);
                await socket.SendAsync(payload, WebSocketMessageType.Binary, endOfMessage: true, ct);
                var echoed = await socket.ReceiveMessageAsync();
                Assert.Equal(payload, echoed.Payload);
            });

            // Every connection echoed and none has closed: all 1,000 handlers are running at the same time.
            Assert.Equal(Connections, Volatile.Read(ref open));
            Assert.All(sockets, s => Assert.Equal(WebSocketState.Open, s.State));

            await Parallel.ForEachAsync(sockets, parallel, async (socket, ct) =>
            {
                await socket.CloseAsync(WebSocketCloseStatus.NormalClosure, null, ct);
                Assert.Equal(WebSocketCloseStatus.NormalClosure, socket.CloseStatus);
            });
            await Eventually.TrueAsync(() => Volatile.Read(ref open) == 0, what: "every handler to end");
        }
        finally
        {
            foreach (var socket in sockets)
            {
                socket.Dispose();
            }
        }

        output.WriteLine($"{Connections} connections opened, echoed and closed in {clock.Elapsed.TotalSeconds:F1} s.");
    }
}
