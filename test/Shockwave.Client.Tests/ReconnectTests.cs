using System.Collections.Concurrent;
using Shockwave.Protocol;

namespace Shockwave.Client.Tests;

/// <summary>ResilientWibeSocketClient against our own server: stopped and restarted, closing with codes that do and do not call for a reconnect.</summary>
public sealed class ReconnectTests
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(20);

    private static WibeSocketReconnectOptions Fast(int maxAttempts = 200) => new()
    {
        InitialDelay = TimeSpan.FromMilliseconds(20),
        MaxDelay = TimeSpan.FromMilliseconds(200),
        MaxAttempts = maxAttempts,
    };

    [Fact]
    public async Task ServerStoppedAndRestarted_ClientReconnectsRejoinsAndCarriesOn()
    {
        await using var server = await EchoServer.StartAsync();
        var states = new ConcurrentQueue<WibeSocketConnectionStateChangedEventArgs>();
        await using var client = new ResilientWibeSocketClient(server.Url(EchoServer.Plain), new WibeSocketClientOptions(), Fast());
        client.StateChanged += (_, e) => states.Enqueue(e);
        int rejoins = 0;
        client.OnReconnected = async (socket, cancellationToken) =>
        {
            Interlocked.Increment(ref rejoins);
            await socket.SendTextAsync("rejoin", cancellationToken);
        };

        await client.StartAsync().WaitAsync(Bound);
        Assert.Equal(WibeSocketConnectionState.Connected, client.State);
        await client.SendTextAsync("before");
        Assert.Equal("before", (await client.ReceiveAsync().AsTask().WaitAsync(Bound)).GetText());

        // The server goes away (1001 on shutdown) and stays away for a while: attempts fail with connection refused.
        await server.StopAsync();
        await WaitUntilAsync(() => states.Count(s => s.Current == WibeSocketConnectionState.Reconnecting && s.Exception is not null) >= 2);
        Assert.Equal(WibeSocketConnectionState.Reconnecting, client.State);
        await server.StartAsync();

        // The rejoin message goes first on the new connection; what the receiver sees continues there.
        Assert.Equal("rejoin", (await client.ReceiveAsync().AsTask().WaitAsync(Bound)).GetText());
        await client.SendTextAsync("after").AsTask().WaitAsync(Bound);
        Assert.Equal("after", (await client.ReceiveAsync().AsTask().WaitAsync(Bound)).GetText());

        Assert.Equal(1, rejoins);
        Assert.Equal(2, client.ConnectionCount);
        Assert.Equal(WibeSocketConnectionState.Connected, client.State);
        Assert.Contains(states, s => s.Current == WibeSocketConnectionState.Reconnecting && s.CloseStatus == WebSocketCloseStatus.EndpointUnavailable);
        Assert.All(states.Where(s => s.Delay is not null), s => Assert.InRange(s.Delay!.Value, TimeSpan.Zero, TimeSpan.FromMilliseconds(200)));

        await client.CloseAsync().AsTask().WaitAsync(Bound);
        Assert.Equal(WibeSocketConnectionState.Closed, client.State);
    }

    [Theory]
    [InlineData(1012)]
    [InlineData(1013)]
    [InlineData(1001)]
    public async Task ServerClosesWithComeBackLater_ClientReconnects(int code)
    {
        await using var server = await EchoServer.StartAsync();
        await using var client = new ResilientWibeSocketClient(server.Url(EchoServer.Commands), new WibeSocketClientOptions(), Fast());
        await client.StartAsync().WaitAsync(Bound);

        await client.SendTextAsync($"close:{code}:later");

        // What is sent while the old connection closes is lost (no replay): send once the new one is up.
        await WaitUntilAsync(() => client.ConnectionCount == 2 && client.State == WibeSocketConnectionState.Connected);
        await client.SendTextAsync("echo me").AsTask().WaitAsync(Bound);
        var message = await client.ReceiveAsync().AsTask().WaitAsync(Bound);

        Assert.Equal("echo me", message.GetText());
        Assert.Equal(2, client.ConnectionCount);
        Assert.Equal(2, server.Connections);
    }

    [Theory]
    [InlineData(1008)]
    [InlineData(1003)]
    [InlineData(1000)]
    public async Task ServerClosesWithRefusal_ClientStopsAndReceiveReturnsClose(int code)
    {
        await using var server = await EchoServer.StartAsync();
        var states = new ConcurrentQueue<WibeSocketConnectionState>();
        await using var client = new ResilientWibeSocketClient(server.Url(EchoServer.Commands), new WibeSocketClientOptions(), Fast());
        client.StateChanged += (_, e) => states.Enqueue(e.Current);
        await client.StartAsync().WaitAsync(Bound);

        await client.SendTextAsync($"close:{code}:no");
        var message = await client.ReceiveAsync().AsTask().WaitAsync(Bound);

        Assert.True(message.IsClose);
        Assert.Equal(WibeSocketConnectionState.Closed, client.State);
        Assert.Equal([WibeSocketConnectionState.Connected, WibeSocketConnectionState.Closed], states);
        Assert.Equal(1, server.Connections);
        await Assert.ThrowsAsync<WibeSocketClosedException>(() => client.SendTextAsync("x").AsTask());
    }

    [Fact]
    public async Task PolicyViolationWithRetryRefusals_ClientReconnects()
    {
        await using var server = await EchoServer.StartAsync();
        var reconnect = Fast();
        reconnect.RetryRefusals = true;
        await using var client = new ResilientWibeSocketClient(server.Url(EchoServer.Commands), new WibeSocketClientOptions(), reconnect);
        await client.StartAsync().WaitAsync(Bound);

        await client.SendTextAsync("close:1008:no");
        await WaitUntilAsync(() => client.ConnectionCount == 2 && client.State == WibeSocketConnectionState.Connected);
        await client.SendTextAsync("again").AsTask().WaitAsync(Bound);
        Assert.Equal("again", (await client.ReceiveAsync().AsTask().WaitAsync(Bound)).GetText());
        Assert.Equal(2, client.ConnectionCount);
    }

    [Fact]
    public async Task UpgradeAnswered404_StartFailsWithoutRetry()
    {
        await using var server = await EchoServer.StartAsync();
        var attempts = new ConcurrentQueue<WibeSocketConnectionStateChangedEventArgs>();
        await using var client = new ResilientWibeSocketClient(server.Url("/missing"), new WibeSocketClientOptions(), Fast());
        client.StateChanged += (_, e) => attempts.Enqueue(e);

        var error = await Assert.ThrowsAsync<WibeSocketUpgradeException>(() => client.StartAsync().WaitAsync(Bound));

        Assert.Equal(404, error.StatusCode);
        Assert.Equal(WibeSocketConnectionState.Closed, client.State);
        Assert.Equal(1, Assert.Single(attempts).Attempt);
    }

    [Fact]
    public async Task NothingListening_GivesUpAfterMaxAttempts()
    {
        int port;
        await using (var server = await EchoServer.StartAsync())
        {
            port = server.BaseUri.Port;
        }

        var attempts = new ConcurrentQueue<WibeSocketConnectionStateChangedEventArgs>();
        await using var client = new ResilientWibeSocketClient(new Uri($"ws://127.0.0.1:{port}/echo"), new WibeSocketClientOptions(), Fast(maxAttempts: 4));
        client.StateChanged += (_, e) => attempts.Enqueue(e);

        await Assert.ThrowsAsync<System.Net.Sockets.SocketException>(() => client.StartAsync().WaitAsync(Bound));

        Assert.Equal([1, 2, 3, 4], attempts.Select(a => a.Attempt));
        Assert.Equal(WibeSocketConnectionState.Closed, attempts.Last().Current);
    }

    [Fact]
    public void Backoff_FullJitterUnderTheExponentialCeiling()
    {
        var options = new WibeSocketReconnectOptions { InitialDelay = TimeSpan.FromMilliseconds(100), MaxDelay = TimeSpan.FromSeconds(1), Random = new Random(7) };
        for (int attempt = 1; attempt <= 10; attempt++)
        {
            var ceiling = TimeSpan.FromMilliseconds(Math.Min(1000, 100 * Math.Pow(2, attempt - 1)));
            var delays = Enumerable.Range(0, 200).Select(_ => options.GetDelay(attempt)).ToList();
            Assert.All(delays, d => Assert.InRange(d, TimeSpan.Zero, ceiling));

            // Full jitter: spread over the whole range, not clustered at the ceiling.
            Assert.True(delays.Min() < ceiling * 0.1 && delays.Max() > ceiling * 0.9, $"attempt {attempt}: {delays.Min()}..{delays.Max()}");
        }
    }

    private static async Task WaitUntilAsync(Func<bool> condition)
    {
        var deadline = DateTime.UtcNow + Bound;
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < deadline, "Timed out waiting for the condition.");
            await Task.Delay(20);
        }
    }
}
