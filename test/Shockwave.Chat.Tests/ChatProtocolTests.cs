using System.Net;
using System.Net.Http.Json;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;

namespace Shockwave.Chat.Tests;

/// <summary>
/// The protocol of docs/chat-protocol.md against samples/Chat on a real Kestrel: sign-in and the upgrade's statuses,
/// rooms, presence, history, direct messages, and the documented answer to every kind of bad message, after which the
/// connection (or, after 1008/1009, the server) still works.
/// </summary>
public sealed class ChatProtocolTests(ChatServer server) : IClassFixture<ChatServer>
{
    private Uri BaseUri => server.BaseUri;

    private static string Unique(string prefix) => $"{prefix}-{Guid.NewGuid():N}"[..20];

    [Theory]
    [InlineData("")]
    [InlineData(" alice")]
    [InlineData("alice ")]
    [InlineData("<b>alice</b>")]
    [InlineData("a\u0000b")]
    [InlineData("abcdefghijklmnopqrstuvwxyz0123456")] // 33 characters
    public async Task SignIn_WithInvalidName_Returns400AndNoCookie(string name)
    {
        using var http = new HttpClient { BaseAddress = BaseUri };
        using var response = await http.PostAsJsonAsync("/signin", new { name });
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.False(response.Headers.Contains("Set-Cookie"));
        using var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        Assert.False(string.IsNullOrEmpty(body.RootElement.GetProperty("error").GetString()));
    }

    [Fact]
    public async Task SignIn_OverPlainHttpInProduction_IssuesHttpOnlyStrictCookieUsableOverHttp()
    {
        using var http = new HttpClient { BaseAddress = BaseUri };
        using var response = await http.PostAsJsonAsync("/signin", new { name = "Zoë O'Neil" });
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        string cookie = Assert.Single(response.Headers.GetValues("Set-Cookie"));
        Assert.StartsWith("chat.auth=", cookie, StringComparison.Ordinal);
        Assert.Contains("httponly", cookie, StringComparison.OrdinalIgnoreCase);
        Assert.Contains("samesite=strict", cookie, StringComparison.OrdinalIgnoreCase);
        // SameAsRequest: an http request gets a cookie the browser sends back over http.
        Assert.DoesNotContain("secure", cookie.Replace("samesite", "", StringComparison.OrdinalIgnoreCase), StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public async Task SignIn_WithFormBody_IsRefused()
    {
        using var http = new HttpClient { BaseAddress = BaseUri };
        using var response = await http.PostAsync("/signin", new FormUrlEncodedContent([new("name", "mallory")]));
        Assert.Equal(HttpStatusCode.UnsupportedMediaType, response.StatusCode);
    }

    [Fact]
    public async Task Me_SaysWhoIsSignedIn_AndNullWhenNoOne()
    {
        using var anonymous = new HttpClient { BaseAddress = BaseUri };
        Assert.Equal("{\"name\":null}", await anonymous.GetStringAsync("/me"));
        var cookies = await ChatConnection.SignInAsync(BaseUri, "me-check");
        using var handler = new HttpClientHandler { CookieContainer = cookies };
        using var signedIn = new HttpClient(handler) { BaseAddress = BaseUri };
        Assert.Equal("{\"name\":\"me-check\"}", await signedIn.GetStringAsync("/me"));
        Assert.Equal(HttpStatusCode.NoContent, (await signedIn.PostAsync("/signout", null)).StatusCode);
        Assert.Equal("{\"name\":null}", await signedIn.GetStringAsync("/me"));
    }

    [Fact]
    public async Task Upgrade_WithoutSignIn_Returns401()
    {
        Assert.Equal(HttpStatusCode.Unauthorized, await ChatConnection.TryUpgradeAsync(BaseUri, cookies: null, origin: null));
    }

    [Fact]
    public async Task Upgrade_SignedInFromAnotherOrigin_Returns403_AndFromTheSameOrigin101()
    {
        var cookies = await ChatConnection.SignInAsync(BaseUri, "origin-check");
        Assert.Equal(HttpStatusCode.Forbidden, await ChatConnection.TryUpgradeAsync(BaseUri, cookies, "http://evil.example"));
        Assert.Equal(HttpStatusCode.Forbidden, await ChatConnection.TryUpgradeAsync(BaseUri, cookies, $"http://127.0.0.1:{BaseUri.Port + 1}"));
        string sameOrigin = $"http://127.0.0.1:{BaseUri.Port}";
        Assert.Equal(HttpStatusCode.SwitchingProtocols, await ChatConnection.TryUpgradeAsync(BaseUri, cookies, sameOrigin));
    }

    [Fact]
    public async Task Hello_CarriesUserAndLimits()
    {
        var cookies = await ChatConnection.SignInAsync(BaseUri, "hello-user");
        await using var connection = await ChatConnection.ConnectAsync(BaseUri, cookies, "hello-user");
        var hello = await connection.ExpectAsync("hello");
        Assert.Equal("hello-user", hello.GetProperty("user").GetString());
        var limits = hello.GetProperty("limits");
        Assert.Equal(16384, limits.GetProperty("message").GetInt32());
        Assert.Equal(2000, limits.GetProperty("text").GetInt32());
        Assert.Equal(32, limits.GetProperty("room").GetInt32());
        Assert.Equal(20, limits.GetProperty("rooms").GetInt32());
        Assert.Equal(50, limits.GetProperty("history").GetInt32());
    }

    [Fact]
    public async Task JoinSayLeave_PresenceAndMessagesReachTheRoomOnly()
    {
        string room = Unique("room");
        await using var alice = await ChatConnection.ConnectAsync(BaseUri, "alice");
        await using var bob = await ChatConnection.ConnectAsync(BaseUri, "bob");
        await using var carol = await ChatConnection.ConnectAsync(BaseUri, "carol");

        var joined = await alice.JoinAsync(room);
        Assert.Equal(["alice"], Members(joined));
        Assert.Empty(joined.GetProperty("history").EnumerateArray());

        joined = await bob.JoinAsync(room);
        Assert.Equal(["alice", "bob"], Members(joined));
        var presence = await alice.ExpectAsync("members");
        Assert.Equal(room, presence.GetProperty("room").GetString());
        Assert.Equal(["alice", "bob"], Members(presence));
        Assert.True(presence.GetProperty("version").GetInt64() > 0);

        await carol.JoinAsync(Unique("elsewhere"));

        await alice.SendAsync(new { type = "say", room, text = "hi bob" });
        foreach (var reader in new[] { alice, bob })
        {
            var message = await reader.ExpectAsync("message");
            Assert.Equal(room, message.GetProperty("room").GetString());
            Assert.Equal("alice", message.GetProperty("from").GetString());
            Assert.Equal("hi bob", message.GetProperty("text").GetString());
            Assert.False(string.IsNullOrEmpty(message.GetProperty("id").GetString()));
            Assert.True(message.GetProperty("ts").GetDateTimeOffset() > DateTimeOffset.UtcNow.AddMinutes(-1));
        }

        // Carol is in another room: the next thing she gets is her own message, not alice's.
        await carol.SendAsync(new { type = "dm", to = "carol", text = "marker" });
        Assert.Equal("marker", (await carol.ExpectAsync("direct")).GetProperty("text").GetString());

        await bob.SendAsync(new { type = "leave", room });
        Assert.Equal(room, (await bob.ExpectAsync("left")).GetProperty("room").GetString());
        Assert.Equal(["alice"], Members(await alice.ExpectAsync("members")));

        // A connection that ends leaves its rooms too.
        await bob.JoinAsync(room);
        Assert.Equal(["alice", "bob"], Members(await alice.ExpectAsync("members")));
        await bob.Socket.CloseAsync(WebSocketCloseStatus.NormalClosure, null, CancellationToken.None);
        Assert.Equal(["alice"], Members(await alice.ExpectAsync("members")));
    }

    [Fact]
    public async Task TwoTabsOfOneUser_AreListedOnce()
    {
        string room = Unique("tabs");
        await using var tab1 = await ChatConnection.ConnectAsync(BaseUri, "dora");
        await using var tab2 = await ChatConnection.ConnectAsync(BaseUri, "dora");
        await tab1.JoinAsync(room);
        Assert.Equal(["dora"], Members(await tab2.JoinAsync(room)));
    }

    [Fact]
    public async Task History_LateJoinerGetsTheLast50InOrder_Verbatim()
    {
        string room = Unique("history");
        await using var writer = await ChatConnection.ConnectAsync(BaseUri, "writer");
        await writer.JoinAsync(room);
        for (int i = 0; i < 55; i++)
        {
            await writer.SendAsync(new { type = "say", room, text = $"message {i} <i>&amp;</i> \u00e9\U0001F600" });
            await writer.ExpectAsync("message");
        }

        await using var late = await ChatConnection.ConnectAsync(BaseUri, "late");
        var history = (await late.JoinAsync(room)).GetProperty("history").EnumerateArray().ToList();
        Assert.Equal(50, history.Count);
        for (int i = 0; i < 50; i++)
        {
            Assert.Equal($"message {i + 5} <i>&amp;</i> \u00e9\U0001F600", history[i].GetProperty("text").GetString());
            Assert.Equal("writer", history[i].GetProperty("from").GetString());
            Assert.Equal(room, history[i].GetProperty("room").GetString());
        }
    }

    [Fact]
    public async Task DirectMessage_ReachesEveryTabOfTheRecipientAndTheSender()
    {
        string recipient = Unique("erin");
        await using var sender = await ChatConnection.ConnectAsync(BaseUri, "frank");
        await using var senderTab2 = await ChatConnection.ConnectAsync(BaseUri, "frank");
        await using var tab1 = await ChatConnection.ConnectAsync(BaseUri, recipient);
        await using var tab2 = await ChatConnection.ConnectAsync(BaseUri, recipient);
        await using var bystander = await ChatConnection.ConnectAsync(BaseUri, Unique("gus"));

        await sender.SendAsync(new { type = "dm", to = recipient, text = "just for you" });
        string? id = null;
        foreach (var reader in new[] { tab1, tab2, sender, senderTab2 })
        {
            var direct = await reader.ExpectAsync("direct");
            Assert.Equal("frank", direct.GetProperty("from").GetString());
            Assert.Equal(recipient, direct.GetProperty("to").GetString());
            Assert.Equal("just for you", direct.GetProperty("text").GetString());
            id ??= direct.GetProperty("id").GetString();
            Assert.Equal(id, direct.GetProperty("id").GetString());
        }

        await bystander.SendAsync(new { type = "dm", to = bystander.User, text = "marker" });
        Assert.Equal("marker", (await bystander.ExpectAsync("direct")).GetProperty("text").GetString());
    }

    [Fact]
    public async Task DirectMessage_ToUserWithNoConnection_AnswersUserOffline()
    {
        await using var connection = await ChatConnection.ConnectAsync(BaseUri, "henry");
        await connection.SendAsync(new { type = "dm", to = Unique("nobody"), text = "hello?" });
        await connection.ExpectErrorAsync("user-offline");
    }

    public static TheoryData<string, string> BadMessages => new()
    {
        { "{not json", "invalid-json" },
        { "[1,2,3]", "invalid-json" },
        { "\"join\"", "invalid-json" },
        { "{\"type\":\"say\",\"room\":{\"a\":{\"b\":1}},\"text\":\"x\"}", "invalid-json" },
        { "{\"type\":\"join\",\"room\":\"a\",\"room\":\"b\"}", "invalid-json" },
        { "{}", "invalid-field" },
        { "{\"type\":7}", "invalid-field" },
        { "{\"type\":\"join\"}", "invalid-field" },
        { "{\"type\":\"join\",\"room\":5}", "invalid-field" },
        { "{\"type\":\"join\",\"room\":\"a\",\"admin\":\"true\"}", "invalid-field" },
        { "{\"type\":\"say\",\"room\":\"a\"}", "invalid-field" },
        { "{\"type\":\"shout\",\"room\":\"a\"}", "unknown-type" },
        { "{\"type\":\"join\",\"room\":\"abcdefghijklmnopqrstuvwxyz0123456\"}", "invalid-room" },
        { "{\"type\":\"join\",\"room\":\"\"}", "invalid-room" },
        { "{\"type\":\"join\",\"room\":\"a b\"}", "invalid-room" },
        { "{\"type\":\"join\",\"room\":\"<script>\"}", "invalid-room" },
        { "{\"type\":\"dm\",\"to\":\" bob\",\"text\":\"x\"}", "invalid-name" },
        { "{\"type\":\"dm\",\"to\":\"bob\",\"text\":\"\"}", "invalid-text" },
        { "{\"type\":\"dm\",\"to\":\"bob\",\"text\":\"   \"}", "invalid-text" },
        { "{\"type\":\"dm\",\"to\":\"bob\",\"text\":\"a\\u0000b\"}", "invalid-text" },
        { "{\"type\":\"dm\",\"to\":\"bob\",\"text\":\"lone \\ud800 surrogate\"}", "invalid-text" },
        { "{\"type\":\"say\",\"room\":\"never-joined\",\"text\":\"hi\"}", "not-joined" },
        { "{\"type\":\"leave\",\"room\":\"never-joined\"}", "not-joined" },
    };

    [Theory]
    [MemberData(nameof(BadMessages))]
    public async Task BadMessage_GetsItsDocumentedError_AndTheConnectionStaysUsable(string text, string code)
    {
        string room = Unique("ok");
        await using var connection = await ChatConnection.ConnectAsync(BaseUri, "tester");
        await connection.SendTextAsync(text);
        await connection.ExpectErrorAsync(code);
        await connection.JoinAsync(room);
        await connection.SendAsync(new { type = "say", room, text = "still here" });
        Assert.Equal("still here", (await connection.ExpectAsync("message")).GetProperty("text").GetString());
    }

    [Fact]
    public async Task TextOf2001Characters_IsRefused_2000IsRelayedVerbatim()
    {
        string room = Unique("long");
        await using var connection = await ChatConnection.ConnectAsync(BaseUri, "long-writer");
        await connection.JoinAsync(room);
        await connection.SendAsync(new { type = "say", room, text = new string('x', 2001) });
        var error = await connection.ExpectErrorAsync("invalid-text");
        Assert.Equal(room, error.GetProperty("room").GetString());
        string longest = string.Concat(Enumerable.Repeat("<é>\n", 500));
        await connection.SendAsync(new { type = "say", room, text = longest });
        Assert.Equal(longest, (await connection.ExpectAsync("message")).GetProperty("text").GetString());
    }

    [Fact]
    public async Task BinaryMessage_GetsInvalidJson()
    {
        await using var connection = await ChatConnection.ConnectAsync(BaseUri, "binary");
        await connection.SendBinaryAsync(Encoding.UTF8.GetBytes("{\"type\":\"join\",\"room\":\"a\"}"));
        await connection.ExpectErrorAsync("invalid-json");
    }

    [Fact]
    public async Task OversizedMessage_GetsTooLarge_AndPast64KiBIsClosedWith1009_ServerStaysHealthy()
    {
        string room = Unique("big");
        await using var connection = await ChatConnection.ConnectAsync(BaseUri, "big-writer");
        await connection.JoinAsync(room);
        string padding = new('y', 17_000);
        await connection.SendTextAsync($"{{\"type\":\"say\",\"room\":\"{room}\",\"text\":\"{padding}\"}}");
        await connection.ExpectErrorAsync("too-large");
        await connection.SendAsync(new { type = "say", room, text = "fine" });
        Assert.Equal("fine", (await connection.ExpectAsync("message")).GetProperty("text").GetString());

        await connection.SendTextAsync($"{{\"type\":\"say\",\"room\":\"{room}\",\"text\":\"{new string('z', 70_000)}\"}}");
        var (status, _) = await connection.ExpectCloseAsync();
        Assert.Equal(WebSocketCloseStatus.MessageTooBig, status);

        await using var next = await ChatConnection.ConnectAsync(BaseUri, "big-writer");
        await next.JoinAsync(room);
        using var http = new HttpClient { BaseAddress = BaseUri };
        Assert.Equal(HttpStatusCode.OK, (await http.GetAsync("/health/live")).StatusCode);
    }

    [Fact]
    public async Task TooManyRooms_21stJoinIsRefused()
    {
        await using var connection = await ChatConnection.ConnectAsync(BaseUri, "collector");
        string prefix = Unique("r");
        for (int i = 0; i < 20; i++)
        {
            await connection.JoinAsync($"{prefix}-{i}");
        }

        await connection.SendAsync(new { type = "join", room = $"{prefix}-20" });
        await connection.ExpectErrorAsync("too-many-rooms");
        await connection.JoinAsync($"{prefix}-0"); // rejoining one it is in is fine
    }

    [Fact]
    public async Task TenBadMessagesWithinAMinute_CloseWith1008_NineDoNot()
    {
        await using var connection = await ChatConnection.ConnectAsync(BaseUri, "abuser");
        for (int i = 0; i < 9; i++)
        {
            await connection.SendTextAsync("{oops");
            await connection.ExpectErrorAsync("invalid-json");
        }

        await connection.JoinAsync(Unique("nine")); // nine strikes: still served

        // user-offline is not a strike.
        await connection.SendAsync(new { type = "dm", to = Unique("nobody"), text = "x" });
        await connection.ExpectErrorAsync("user-offline");

        await connection.SendTextAsync("{\"type\":\"shout\"}");
        await connection.ExpectErrorAsync("unknown-type");
        var (status, reason) = await connection.ExpectCloseAsync();
        Assert.Equal(WebSocketCloseStatus.PolicyViolation, status);
        Assert.Equal("too many invalid messages", reason);

        await using var next = await ChatConnection.ConnectAsync(BaseUri, "abuser");
        await next.JoinAsync(Unique("after"));
    }

    [Fact]
    public async Task HealthEndpoints_AnswerHealthy()
    {
        using var http = new HttpClient { BaseAddress = BaseUri };
        foreach (var path in new[] { "/health/ready", "/health/live" })
        {
            using var response = await http.GetAsync(path);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.Equal("Healthy", await response.Content.ReadAsStringAsync());
        }
    }

    [Fact]
    public async Task Telemetry_IsOffUnlessConfigured()
    {
        Assert.Null(server.App.Services.GetService<OpenTelemetry.Metrics.MeterProvider>());
        Assert.Null(server.App.Services.GetService<OpenTelemetry.Trace.TracerProvider>());

        await using var exporting = new ChatAppFactory(settings: new Dictionary<string, string> { ["Telemetry:Exporter"] = "console" }).Start();
        Assert.NotNull(exporting.Services.GetService<OpenTelemetry.Metrics.MeterProvider>());
        Assert.NotNull(exporting.Services.GetService<OpenTelemetry.Trace.TracerProvider>());
    }

    [Fact]
    public async Task Page_IsServedAtRootWithTheTestHooks()
    {
        using var http = new HttpClient { BaseAddress = BaseUri };
        string html = await http.GetStringAsync("/");
        foreach (var hook in new[] { "name", "signin", "room", "join", "message", "messages", "members", "status" })
        {
            Assert.Contains($"data-testid=\"{hook}\"", html, StringComparison.Ordinal);
        }

        string script = await http.GetStringAsync("/app.js");
        Assert.DoesNotContain("innerHTML", script, StringComparison.Ordinal);
    }

    private static string[] Members(JsonElement message) =>
        [.. message.GetProperty("members").EnumerateArray().Select(m => m.GetString()!)];
}
