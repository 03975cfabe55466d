using System.Net.WebSockets;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using Shockwave.Middleware.Tests.Support;
using Shockwave.Tests.Shared;

namespace Shockwave.Middleware.Tests.Drain;

/// <summary>The graceful drain on a real Kestrel, with the clock in the test's hands.</summary>
public sealed class DrainTests
{
    private const int Clients = 20;
    private static readonly TimeSpan Window = TimeSpan.FromSeconds(10);

    private static async Task Echo(WibeSocket socket, CancellationToken ct)
    {
        await foreach (var message in socket.ReadMessagesAsync(ct))
        {
            await socket.SendAsync(message, ct);
        }
    }

    private static TestAppOptions Draining(ManualTimeProvider time, Action<IServiceCollection>? services = null) => new()
    {
        TimeProvider = time,
        WibeSocket = o =>
        {
            o.Drain.Enabled = true;
            o.Drain.Window = Window;
            o.CloseTimeout = TimeSpan.FromSeconds(2);
        },
        Services = s =>
        {
            s.Configure<HostOptions>(o => o.ShutdownTimeout = TimeSpan.FromSeconds(20));
            s.AddHealthChecks().AddWibeSocket();
            services?.Invoke(s);
        },
    };

    [Fact]
    public async Task OnDemandDrain_RefusesUpgrades_FlipsReadiness_AndSpreadsCloses1012OverTheWindow()
    {
        var time = new ManualTimeProvider();
        await using var app = await KestrelApp.StartAsync(e => e.MapWibeSocket("/echo", Echo), Draining(time));
        var health = app.Services.GetRequiredService<HealthCheckService>();
        Assert.Equal(HealthStatus.Healthy, (await health.CheckHealthAsync(r => r.Tags.Contains("ready"))).Status);

        var sockets = new ClientWebSocket[Clients];
        var closes = new Task<(WebSocketCloseStatus? Status, TimeSpan At)>[Clients];
        long start = time.GetTimestamp();
        for (int i = 0; i < Clients; i++)
        {
            sockets[i] = await ClientWebSocketExtensions.ConnectAsync(app.WebSocketUri("/echo"));
            closes[i] = AwaitCloseAsync(sockets[i], time, start);
        }

        var drain = app.Services.GetRequiredService<IWibeSocketDrain>();
        var draining = drain.DrainAsync();
        Assert.True(drain.IsDraining);
        Assert.Equal(HealthStatus.Unhealthy, (await health.CheckHealthAsync(r => r.Tags.Contains("ready"))).Status);
        Assert.Equal(HealthStatus.Healthy, (await health.CheckHealthAsync(r => r.Tags.Contains("live"))).Status);

        // A new upgrade during the drain: 503 with Retry-After (the default 5 s).
        await using (var late = await RawWebSocketClient.OpenAsync(app.Port))
        {
            var refused = await late.SendRequestAsync(RawWebSocketClient.BuildRequest(app.Port, "/echo"));
            Assert.Equal(503, refused.StatusCode);
            Assert.Equal("5", refused.Header("Retry-After"));
        }

        await Eventually.TrueAsync(() => app.Logs.Events(140).Count == 1, what: "the drain started");

        // Walk the window second by second: closes come at random moments across it, not in a burst.
        int closedAfterFirstSecond = -1;
        for (int second = 1; second <= Window.TotalSeconds; second++)
        {
            time.Advance(TimeSpan.FromSeconds(1));
            await Task.Delay(50); // let the closes of this second reach the clients
            if (second == 1)
            {
                closedAfterFirstSecond = closes.Count(c => c.IsCompleted);
            }
        }

        var results = await Task.WhenAll(closes).WaitAsync(Eventually.DefaultTimeout);
        Assert.All(results, r => Assert.Equal((WebSocketCloseStatus)1012, r.Status));
        Assert.True(closedAfterFirstSecond < Clients / 2, $"{closedAfterFirstSecond} of {Clients} closed in the first second");
        Assert.Contains(results, r => r.At >= Window / 2);
        Assert.All(results, r => Assert.True(r.At <= Window + TimeSpan.FromSeconds(1), $"closed at {r.At}"));

        // The drain ends once every close handshake has.
        for (int i = 0; i < 100 && !draining.IsCompleted; i++)
        {
            time.Advance(TimeSpan.FromMilliseconds(100));
            await Task.Delay(10);
        }

        await draining.WaitAsync(Eventually.DefaultTimeout);
        Assert.Equal(0, app.Services.GetRequiredService<IWibeSocketClientsProvider>().GetClients("/echo").ConnectionCount);
        Assert.Equal(Clients, app.Metrics.Records("shockwave.drain.closes").Sum(r => r.Value));
    }

    [Fact]
    public async Task AQueuedBroadcast_IsDeliveredBeforeTheDrainsClose_AndEveryHubSeesItsDisconnect()
    {
        var time = new ManualTimeProvider();
        var disconnects = new CountdownEvent(3);
        await using var app = await KestrelApp.StartAsync(e => e.MapWibeSocket<CountingHub>("/hub"), Draining(time, s => s.AddSingleton(disconnects)));
        var clients = app.Services.GetRequiredService<IWibeSocketClients<CountingHub>>();
        var sockets = new List<ClientWebSocket>();
        for (int i = 0; i < 3; i++)
        {
            sockets.Add(await ClientWebSocketExtensions.ConnectAsync(app.WebSocketUri("/hub")));
        }

        await Eventually.TrueAsync(() => clients.ConnectionCount == 3, what: "everyone connected");
        Assert.Equal(3, (await clients.SendToAllAsync("last words")).Queued);

        // Each client reads what comes and answers the close at once, as a real one would.
        var received = sockets.Select(ReadUntilCloseAsync).ToArray();
        var drain = app.Services.GetRequiredService<IWibeSocketDrain>();
        var draining = drain.DrainAsync();
        await Eventually.TrueAsync(() => app.Logs.Events(140).Count == 1, what: "the drain started");
        for (int step = 0; step < 120 && !draining.IsCompleted; step++)
        {
            time.Advance(TimeSpan.FromMilliseconds(100));
            await Task.Delay(5);
        }

        foreach (var (messages, status) in await Task.WhenAll(received).WaitAsync(Eventually.DefaultTimeout))
        {
            Assert.Equal(["last words"], messages);
            Assert.Equal((WebSocketCloseStatus)1012, status);
        }

        Assert.True(disconnects.Wait(Eventually.DefaultTimeout), "OnDisconnectedAsync ran for every connection");
        await draining.WaitAsync(Eventually.DefaultTimeout);
        Assert.Equal(0, clients.ConnectionCount);
        foreach (var socket in sockets)
        {
            socket.Dispose();
        }
    }

    private static async Task<(List<string> Messages, WebSocketCloseStatus? Status)> ReadUntilCloseAsync(ClientWebSocket socket)
    {
        var messages = new List<string>();
        while (true)
        {
            var message = await socket.ReceiveMessageAsync(TimeSpan.FromSeconds(30));
            if (message.Type == WebSocketMessageType.Close)
            {
                await socket.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, null, CancellationToken.None);
                return (messages, socket.CloseStatus);
            }

            messages.Add(System.Text.Encoding.UTF8.GetString(message.Payload));
        }
    }

    [Fact]
    public async Task AnUnresponsivePeer_DoesNotHoldTheDrain_BeyondWindowPlusCloseTimeout()
    {
        var time = new ManualTimeProvider();
        await using var app = await KestrelApp.StartAsync(e => e.MapWibeSocket("/echo", Echo), Draining(time));
        using var answering = await ClientWebSocketExtensions.ConnectAsync(app.WebSocketUri("/echo"));
        var answered = AwaitCloseAsync(answering, time, time.GetTimestamp());

        // Never reads and never answers a close: its close handshake can only time out.
        await using var silent = await RawWebSocketClient.ConnectAsync(app.Port, "/echo", receiveBufferSize: 4096);
        var clients = app.Services.GetRequiredService<IWibeSocketClientsProvider>().GetClients("/echo");
        await Eventually.TrueAsync(() => clients.ConnectionCount == 2, what: "both connected");

        var draining = app.Services.GetRequiredService<IWibeSocketDrain>().DrainAsync();
        await Eventually.TrueAsync(() => app.Logs.Events(140).Count == 1, what: "the drain started");

        // Window (10 s) + close timeout (2 s) + the drain's last second: the heartbeat aborts the silent one.
        var elapsed = TimeSpan.Zero;
        while (!draining.IsCompleted && elapsed < TimeSpan.FromSeconds(15))
        {
            time.Advance(TimeSpan.FromMilliseconds(250));
            app.Services.GetRequiredService<Shockwave.Runtime.ConnectionHeartbeat>().Tick();
            elapsed += TimeSpan.FromMilliseconds(250);
            await Task.Delay(5);
        }

        await draining.WaitAsync(Eventually.DefaultTimeout);
        Assert.True(elapsed <= Window + TimeSpan.FromSeconds(2) + TimeSpan.FromSeconds(1.5), $"the drain took {elapsed} of manual time");
        Assert.Equal((WebSocketCloseStatus)1012, (await answered).Status);
        Assert.Contains(app.Metrics.Records("shockwave.connections.closed"), r => r.Tag("shockwave.close_reason") == "close_timeout");
        Assert.Equal(0, clients.ConnectionCount);
    }

    [Fact]
    public async Task ADrainWindowThatDoesNotFitTheShutdownTimeout_FailsAtStart()
    {
        var failure = await Assert.ThrowsAsync<OptionsValidationException>(() => KestrelApp.StartAsync(e => e.MapWibeSocket("/echo", Echo), new TestAppOptions
        {
            WibeSocket = o =>
            {
                o.Drain.Enabled = true;
                o.Drain.Window = TimeSpan.FromSeconds(40);
            },
            Services = s => s.Configure<HostOptions>(o => o.ShutdownTimeout = TimeSpan.FromSeconds(30)),
        }));

        Assert.Contains("ShutdownTimeout", failure.Message);
        Assert.Contains("Drain:Window", failure.Message);
    }

    private static async Task<(WebSocketCloseStatus? Status, TimeSpan At)> AwaitCloseAsync(ClientWebSocket socket, ManualTimeProvider time, long start)
    {
        var buffer = new byte[1024];
        while (true)
        {
            var result = await socket.ReceiveAsync(buffer, CancellationToken.None);
            if (result.MessageType == WebSocketMessageType.Close)
            {
                var at = time.GetElapsedTime(start);
                await socket.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, null, CancellationToken.None);
                return (socket.CloseStatus, at);
            }
        }
    }

    public sealed class CountingHub(CountdownEvent disconnects) : WibeSocketHub
    {
        public override Task OnDisconnectedAsync(Shockwave.Protocol.WebSocketCloseStatus? closeStatus, Exception? exception)
        {
            disconnects.Signal();
            return Task.CompletedTask;
        }
    }
}
