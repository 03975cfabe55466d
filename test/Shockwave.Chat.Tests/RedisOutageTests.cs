using System.Diagnostics;
using System.Net.WebSockets;
using System.Text.Json;
using Xunit.Abstractions;

namespace Shockwave.Chat.Tests;

/// <summary>
/// Two nodes whose Redis dies (SIGKILL) and comes back empty: each node keeps serving its own connections meanwhile,
/// and afterwards presence is written back by the nodes themselves and messages cross the nodes again.
/// </summary>
public sealed class RedisOutageTests(ITestOutputHelper output)
{
    private static string[] Members(JsonElement message) =>
        [.. message.GetProperty("members").EnumerateArray().Select(m => m.GetString()!)];

    private static async Task ExpectMembersAsync(ChatConnection connection, TimeSpan within, params string[] expected)
    {
        var deadline = Stopwatch.StartNew();
        while (true)
        {
            var remaining = within - deadline.Elapsed;
            Assert.True(remaining > TimeSpan.Zero, $"{connection.User}: no member list [{string.Join(", ", expected)}] within {within}");
            var update = await connection.ExpectAsync("members", remaining);
            if (Members(update).SequenceEqual(expected))
            {
                return;
            }
        }
    }

    [Fact]
    public async Task RedisRestartsEmpty_NodesWritePresenceBack_AndMessagesCrossAgain()
    {
        await using var cluster = new ChatCluster();
        await cluster.InitializeAsync();
        const string Room = "outage";
        await using var alice = await ChatConnection.ConnectAsync(cluster.A.BaseUri, "alice");
        await using var bob = await ChatConnection.ConnectAsync(cluster.B.BaseUri, "bob");
        await alice.JoinAsync(Room);
        await bob.JoinAsync(Room);
        await ExpectMembersAsync(alice, TimeSpan.FromSeconds(10), "alice", "bob");
        await alice.SendAsync(new { type = "say", room = Room, text = "before the outage" });
        await alice.ExpectAsync("message");
        await bob.ExpectAsync("message");

        await cluster.Redis.KillAsync();
        var outage = Stopwatch.StartNew();

        // Node A alone: Carol joins and talks with Alice; her join answers with A's own view and no history.
        await using var carol = await ChatConnection.ConnectAsync(cluster.A.BaseUri, "carol");
        var joined = await carol.JoinAsync(Room);
        Assert.Equal(["alice", "carol"], Members(joined));
        Assert.Empty(joined.GetProperty("history").EnumerateArray());
        await carol.SendAsync(new { type = "say", room = Room, text = "during the outage" });
        Assert.Equal("during the outage", (await alice.ExpectAsync("message")).GetProperty("text").GetString());
        Assert.Equal(WebSocketState.Open, bob.Socket.State);

        await cluster.Redis.RestartAsync();
        output.WriteLine($"Redis down for {outage.ElapsedMilliseconds} ms, restarted empty");
        var healing = Stopwatch.StartNew();

        // Within two renewals of the nodes' keys (10 s each), both nodes have written their connections back and the
        // lists agree on both nodes.
        await ExpectMembersAsync(bob, TimeSpan.FromSeconds(30), "alice", "bob", "carol");
        output.WriteLine($"bob on B sees the full list {healing.ElapsedMilliseconds} ms after the restart");
        await ExpectMembersAsync(alice, TimeSpan.FromSeconds(30), "alice", "bob", "carol");

        // Live messages cross the nodes again once both backplanes are back (readiness Healthy, not Degraded), and are
        // stored again.
        foreach (var node in new[] { cluster.A, cluster.B })
        {
            using var http = new HttpClient { BaseAddress = node.BaseUri };
            while (await http.GetStringAsync("/health/ready") != "Healthy")
            {
                Assert.True(healing.Elapsed < TimeSpan.FromSeconds(60), "a node's backplane did not reconnect within 60 s");
                await Task.Delay(100);
            }
        }

        await carol.SendAsync(new { type = "say", room = Room, text = "after the outage" });
        var relayed = await bob.ExpectAsync("message", TimeSpan.FromSeconds(10));
        Assert.Equal(("carol", "after the outage"), (relayed.GetProperty("from").GetString(), relayed.GetProperty("text").GetString()));
        await using var dave = await ChatConnection.ConnectAsync(cluster.B.BaseUri, "dave");
        var late = await dave.JoinAsync(Room);
        Assert.Equal(["after the outage"], late.GetProperty("history").EnumerateArray().Select(m => m.GetProperty("text").GetString()!).ToArray());
        Assert.Equal(["alice", "bob", "carol", "dave"], Members(late));
    }
}
