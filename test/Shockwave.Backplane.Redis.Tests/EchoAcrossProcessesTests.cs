using System.Net;
using System.Net.WebSockets;
using Shockwave.Tests.Shared;
using Xunit.Abstractions;

namespace Shockwave.Backplane.Redis.Tests;

/// <summary>
/// samples/Echo as shipped, twice, as separate processes on one real Redis (ConnectionStrings__Redis): /broadcast relays
/// between them, and survives Redis being killed and restarted with every connection open.
/// </summary>
public sealed class EchoAcrossProcessesTests(ITestOutputHelper output)
{
    [Fact]
    public async Task TwoEchoProcesses_RelayBroadcast_AndResumeWithin10sAfterRedisIsKilledAndRestarted()
    {
        await using var redis = await RedisServer.StartAsync();
        var environment = new Dictionary<string, string> { ["ConnectionStrings__Redis"] = redis.ConnectionString };
        using var first = await EchoProcess.StartAsync(environment);
        using var second = await EchoProcess.StartAsync(environment);
        await using var onFirst = await ConnectAsync(first.Port);
        await using var onSecond = await ConnectAsync(second.Port);

        // Subscriptions are made in the background: the first message may come before them.
        await RoundTripAsync(onFirst, onSecond, "hello across", TimeSpan.FromSeconds(10));
        await RoundTripAsync(onSecond, onFirst, "and back", TimeSpan.FromSeconds(2));

        await redis.KillAsync();
        using (var http = new HttpClient { BaseAddress = first.BaseUri })
        {
            // Readiness stays 200: a Redis outage must not take every pod out of rotation.
            Assert.Equal(HttpStatusCode.OK, (await http.GetAsync("/health/ready")).StatusCode);
        }

        await redis.RestartAsync();
        var restarted = DateTime.UtcNow;
        await RoundTripAsync(onFirst, onSecond, "after the restart", TimeSpan.FromSeconds(10));
        var resumedAfter = DateTime.UtcNow - restarted;
        output.WriteLine($"cross-process /broadcast resumed {resumedAfter.TotalMilliseconds:0} ms after redis-server restarted");
        Assert.True(resumedAfter < TimeSpan.FromSeconds(10), $"cross-node delivery resumed {resumedAfter} after the restart");
        Assert.Equal(WebSocketState.Open, onFirst.State);
        Assert.Equal(WebSocketState.Open, onSecond.State);
    }

    private static Task<TestClient> ConnectAsync(int port) => TestClient.ConnectAsync(new Uri($"ws://127.0.0.1:{port}/broadcast"));

    /// <summary>Sends <paramref name="text"/> from one side until the other receives it, within <paramref name="within"/>.</summary>
    private static async Task RoundTripAsync(TestClient from, TestClient to, string text, TimeSpan within)
    {
        var deadline = DateTime.UtcNow + within;
        while (DateTime.UtcNow < deadline)
        {
            await from.SendAsync(text);
            try
            {
                Assert.Equal(text, await to.ReceiveAsync(TimeSpan.FromMilliseconds(250)));

                // Every extra copy sent while waiting arrives too; read them so the next round trip starts clean.
                Assert.All(await to.DrainAsync(TimeSpan.FromMilliseconds(500)), copy => Assert.Equal(text, copy));
                return;
            }
            catch (OperationCanceledException)
            {
            }
        }

        Assert.Fail($"'{text}' did not cross between the processes within {within}.");
    }
}
