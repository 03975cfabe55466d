using System.Collections.Concurrent;
using System.Net.WebSockets;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Shockwave.Backplane.Redis.Tests;
using StackExchange.Redis;

namespace Shockwave.Chat.Tests;

/// <summary>
/// The chat on two nodes with one real Redis, at the protocol level: rooms, presence, history and direct messages
/// span the nodes, a cookie from one node signs in on the other, a crashed node's members leave the lists, and a node
/// whose Redis is unreachable keeps serving its own connections.
/// </summary>
public sealed class TwoNodeProtocolTests(ChatCluster cluster) : IClassFixture<ChatCluster>
{
    private static string Unique(string prefix) => $"{prefix}-{Guid.NewGuid():N}"[..20];

    private static string[] Members(JsonElement message) =>
        [.. message.GetProperty("members").EnumerateArray().Select(m => m.GetString()!)];

    /// <summary>Reads <c>members</c> updates until one lists exactly <paramref name="expected"/>.</summary>
    private static async Task<JsonElement> ExpectMembersAsync(ChatConnection connection, params string[] expected)
    {
        while (true)
        {
            var update = await connection.ExpectAsync("members");
            if (Members(update).SequenceEqual(expected))
            {
                return update;
            }
        }
    }

    [Fact]
    public async Task CookieIssuedByNodeA_SignsInOnNodeB()
    {
        var cookies = await ChatConnection.SignInAsync(cluster.A.BaseUri, "crossing");
        using var http = new HttpClient();
        // The container holds the cookie for A's origin; the same cookie is sent to B by hand.
        string cookie = cookies.GetCookieHeader(cluster.A.BaseUri);
        using var request = new HttpRequestMessage(HttpMethod.Get, new Uri(cluster.B.BaseUri, "/me"));
        request.Headers.Add("Cookie", cookie);
        using var response = await http.SendAsync(request);
        Assert.Equal("{\"name\":\"crossing\"}", await response.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task MessageSentOnNodeA_ReachesMemberOnNodeB_AndPresenceAgreesOnBoth()
    {
        string room = Unique("span");
        await using var alice = await ChatConnection.ConnectAsync(cluster.A.BaseUri, "alice");
        await using var bob = await ChatConnection.ConnectAsync(cluster.B.BaseUri, "bob");

        var aliceJoined = await alice.JoinAsync(room);
        Assert.Equal(["alice"], Members(aliceJoined));
        var bobJoined = await bob.JoinAsync(room);
        Assert.Equal(["alice", "bob"], Members(bobJoined));
        // Bob's join on B reaches Alice on A, with a later version of the same list.
        var update = await ExpectMembersAsync(alice, "alice", "bob");
        Assert.True(update.GetProperty("version").GetInt64() > aliceJoined.GetProperty("version").GetInt64());
        Assert.Equal(bobJoined.GetProperty("version").GetInt64(), update.GetProperty("version").GetInt64());

        await alice.SendAsync(new { type = "say", room, text = "from node A" });
        var atBob = await bob.ExpectAsync("message");
        Assert.Equal(("alice", "from node A", room), (atBob.GetProperty("from").GetString(), atBob.GetProperty("text").GetString(), atBob.GetProperty("room").GetString()));
        var atAlice = await alice.ExpectAsync("message");
        Assert.Equal(atBob.GetProperty("id").GetString(), atAlice.GetProperty("id").GetString());

        await bob.SendAsync(new { type = "say", room, text = "and back from B" });
        Assert.Equal("and back from B", (await alice.ExpectAsync("message")).GetProperty("text").GetString());
        Assert.Equal("and back from B", (await bob.ExpectAsync("message")).GetProperty("text").GetString());

        // Leaving on B and disconnecting on B both reach A.
        await bob.SendAsync(new { type = "leave", room });
        await bob.ExpectAsync("left");
        await ExpectMembersAsync(alice, "alice");
        await bob.JoinAsync(room);
        await ExpectMembersAsync(alice, "alice", "bob");
        await bob.Socket.CloseAsync(WebSocketCloseStatus.NormalClosure, null, CancellationToken.None);
        await ExpectMembersAsync(alice, "alice");
    }

    [Fact]
    public async Task HistoryFetchedOnNodeB_ShowsMessagesSentOnNodeA_InOrder_LastFifty()
    {
        string room = Unique("hist");
        await using var alice = await ChatConnection.ConnectAsync(cluster.A.BaseUri, "alice");
        await alice.JoinAsync(room);
        for (int i = 1; i <= 55; i++)
        {
            await alice.SendAsync(new { type = "say", room, text = $"message {i} <&>" });
            await alice.ExpectAsync("message");
        }

        await using var carol = await ChatConnection.ConnectAsync(cluster.B.BaseUri, "carol");
        var joined = await carol.JoinAsync(room);
        var history = joined.GetProperty("history").EnumerateArray().ToArray();
        Assert.Equal(50, history.Length);
        Assert.Equal(Enumerable.Range(6, 50).Select(i => $"message {i} <&>"), history.Select(m => m.GetProperty("text").GetString()));
        Assert.All(history, m => Assert.Equal("alice", m.GetProperty("from").GetString()));
        Assert.All(history, m => Assert.Equal(room, m.GetProperty("room").GetString()));
        Assert.Equal(["alice", "carol"], Members(joined));
    }

    [Fact]
    public async Task DirectMessage_ReachesEveryTabOfItsUser_OnBothNodes()
    {
        await using var sender = await ChatConnection.ConnectAsync(cluster.A.BaseUri, "dm-sender");
        string user = Unique("dm");
        await using var tabOnA = await ChatConnection.ConnectAsync(cluster.A.BaseUri, user);
        await using var tabOnB = await ChatConnection.ConnectAsync(cluster.B.BaseUri, user);
        // The user channel is subscribed on B in the background after the connect; a round trip on B's side first.
        await tabOnB.JoinAsync(Unique("warm"));

        await sender.SendAsync(new { type = "dm", to = user, text = "to every tab" });
        foreach (var tab in new[] { tabOnA, tabOnB })
        {
            var direct = await tab.ExpectAsync("direct");
            Assert.Equal(("dm-sender", "to every tab"), (direct.GetProperty("from").GetString(), direct.GetProperty("text").GetString()));
        }
    }

    [Fact]
    public async Task MembersOfANodeThatDiedWithoutLeaving_AreDroppedAtTheRoomsNextChange()
    {
        string room = Unique("ghost");
        // What a node that crashed leaves behind: its entry in the room's hash, and no live node key (it expired).
        await using (var redis = await ConnectionMultiplexer.ConnectAsync(cluster.Redis.ConnectionString))
        {
            await redis.GetDatabase().HashSetAsync($"chat:room:{room}:members", "deadnode.1", "deadnode\nghost");
        }

        await using var alice = await ChatConnection.ConnectAsync(cluster.B.BaseUri, "alice");
        var joined = await alice.JoinAsync(room);
        Assert.Equal(["alice"], Members(joined));
    }

    [Fact]
    public async Task RedisUnreachable_NodeServesItsOwnConnections_AndWarnsOncePerOutage()
    {
        var logs = new CapturingLoggerProvider();
        var settings = new Dictionary<string, string>(cluster.Settings)
        {
            ["ConnectionStrings:Redis"] = $"127.0.0.1:{RedisServer.FreePort()},connectTimeout=500",
        };
        await using var app = new ChatAppFactory(settings: settings, services: services => services.AddSingleton<ILoggerProvider>(logs)).Start();
        await using var alice = await ChatConnection.ConnectAsync(app.BaseUri, "alice");
        await using var bob = await ChatConnection.ConnectAsync(app.BaseUri, "bob");
        string room = Unique("down");

        var joined = await alice.JoinAsync(room);
        Assert.Empty(joined.GetProperty("history").EnumerateArray());
        Assert.Equal(["alice"], Members(joined));
        Assert.Equal(["alice", "bob"], Members(await bob.JoinAsync(room)));
        await ExpectMembersAsync(alice, "alice", "bob");
        for (int i = 0; i < 5; i++)
        {
            await alice.SendAsync(new { type = "say", room, text = $"local {i}" });
            Assert.Equal($"local {i}", (await bob.ExpectAsync("message")).GetProperty("text").GetString());
        }

        Assert.Equal(WebSocketState.Open, alice.Socket.State);
        var warnings = logs.Entries.Where(e => e.Level >= LogLevel.Warning && e.Category.EndsWith("ChatRedis", StringComparison.Ordinal)).ToArray();
        Assert.Single(warnings);
        Assert.Equal("ChatRedisFailing", warnings[0].EventName);
    }

    private sealed class CapturingLoggerProvider : ILoggerProvider
    {
        public ConcurrentQueue<(string Category, LogLevel Level, string? EventName)> Entries { get; } = new();

        public ILogger CreateLogger(string categoryName) => new Logger(this, categoryName);

        public void Dispose()
        {
        }

        private sealed class Logger(CapturingLoggerProvider provider, string category) : ILogger
        {
            public IDisposable? BeginScope<TState>(TState state)
                where TState : notnull => null;

            public bool IsEnabled(LogLevel logLevel) => true;

            public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
                provider.Entries.Enqueue((category, logLevel, eventId.Name));
        }
    }
}
