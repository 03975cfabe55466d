using System.Diagnostics.Metrics;
using System.Net;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Xunit.Abstractions;

namespace Shockwave.Chat.Tests;

/// <summary>
/// The chat page in Debian's headless Chromium against samples/Chat on a real Kestrel: browser contexts are users
/// (separate cookie jars), pages are tabs, and everything goes through the page's own UI and <c>data-testid</c> hooks.
/// </summary>
public sealed class ChatBrowserTests(ChatServer server, BrowserFixture fixture, ITestOutputHelper output)
    : IClassFixture<ChatServer>, IClassFixture<BrowserFixture>
{
    private BrowserDriver Browser => fixture.Browser;

    private static string Unique(string prefix) => $"{prefix}-{Guid.NewGuid():N}"[..16];

    private async Task<ChatPage> SignedInPageAsync(string context, string page, string displayName)
    {
        await Browser.NewContextAsync(context);
        var opened = await ChatPage.OpenAsync(Browser, context, page, server.BaseUri);
        await opened.SignInAsync(displayName);
        return opened;
    }

    [Fact]
    public async Task TwoUsersInOneRoom_SeeEachOtherAndTheirMessages_AThirdRoomDoesNot()
    {
        output.WriteLine($"Chromium {Browser.BrowserVersion}");
        // The only test in rooms with these names (the others use unique ones), so the screenshot reads well.
        string room = "general";
        string other = "random";
        var alice = await SignedInPageAsync("room-alice", "room-alice", "alice");
        var bob = await SignedInPageAsync("room-bob", "room-bob", "bob");
        var carol = await SignedInPageAsync("room-carol", "room-carol", "carol");

        await alice.JoinAsync(room);
        await alice.WaitForMembersAsync("alice");
        await bob.JoinAsync(room);
        await carol.JoinAsync(other);

        // Presence both ways.
        await alice.WaitForMembersAsync("alice", "bob");
        await bob.WaitForMembersAsync("alice", "bob");
        await carol.WaitForMembersAsync("carol");

        await alice.SendAsync("Hi Bob, the deploy is green.");
        await bob.WaitForMessageAsync("alice", "Hi Bob, the deploy is green.");
        await alice.WaitForMessageAsync("alice", "Hi Bob, the deploy is green.");
        await bob.SendAsync("Great — merging now.");
        await alice.WaitForMessageAsync("bob", "Great — merging now.");

        // Carol's own message reaching her proves her socket is live; nothing from the other room came before it.
        await carol.SendAsync("anyone here?");
        await carol.WaitForMessageAsync("carol", "anyone here?");
        Assert.Equal([("carol", "anyone here?")], await carol.MessagesAsync());
        Assert.Equal([("alice", "Hi Bob, the deploy is green."), ("bob", "Great — merging now.")], await bob.MessagesAsync());

        // Leaving (joining another room) updates the others' member lists.
        await carol.JoinAsync(room);
        await alice.WaitForMembersAsync("alice", "bob", "carol");
        await carol.WaitForMessageAsync("bob", "Great — merging now."); // history on join
        await carol.JoinAsync(other);
        await alice.WaitForMembersAsync("alice", "bob");

        // A direct message and literal HTML, for the screenshot in the README.
        await bob.ClickMemberAsync("alice");
        await bob.SendAsync("lunch at 1?");
        await alice.WaitForMessageAsync("bob → alice", "lunch at 1?");
        await alice.SendAsync("<b>bold?</b> no: text is shown as typed");
        await bob.WaitForMessageAsync("alice", "<b>bold?</b> no: text is shown as typed");

        string screenshot = Path.Combine(AppContext.BaseDirectory, "chat.png");
        await alice.ScreenshotAsync(screenshot);
        Assert.True(new FileInfo(screenshot).Length > 10_000, "the screenshot is empty");
        if (Environment.GetEnvironmentVariable("SHOCKWAVE_UPDATE_SCREENSHOT") == "1")
        {
            File.Copy(screenshot, Path.Combine(BrowserDriver.RepoRoot, "docs", "images", "chat.png"), overwrite: true);
        }

        foreach (var page in new[] { alice, bob, carol })
        {
            var errors = (await Browser.LogAsync(page.Name)).Where(l => l.StartsWith("pageerror", StringComparison.Ordinal) || l.StartsWith("console.error", StringComparison.Ordinal)).ToList();
            Assert.True(errors.Count == 0, $"{page.Name}: {string.Join('\n', errors)}");
        }
    }

    [Fact]
    public async Task DirectMessage_ReachesBothTabsOfItsUser_AndNoOneElse()
    {
        string room = Unique("dm");
        string recipient = Unique("dave");
        string bystanderName = Unique("gus");
        var sender = await SignedInPageAsync("dm-erin", "dm-erin", "erin");
        var tab1 = await SignedInPageAsync("dm-dave", "dm-dave-1", recipient);
        var tab2 = await ChatPage.OpenAsync(Browser, "dm-dave", "dm-dave-2", server.BaseUri); // same cookie: the same user
        await tab2.WaitForStateAsync("connected");
        var bystander = await SignedInPageAsync("dm-gus", "dm-gus", bystanderName);

        foreach (var page in new[] { sender, tab1, tab2, bystander })
        {
            await page.JoinAsync(room);
        }

        // Two tabs, one member.
        await sender.WaitForMembersAsync([.. new[] { "erin", recipient, bystanderName }.Order(StringComparer.Ordinal)]);
        await sender.ClickMemberAsync(recipient);
        await sender.SendAsync("a secret for dave");
        await tab1.WaitForMessageAsync($"erin → {recipient}", "a secret for dave");
        await tab2.WaitForMessageAsync($"erin → {recipient}", "a secret for dave");
        await sender.WaitForMessageAsync($"erin → {recipient}", "a secret for dave");

        // The bystander's next message reaches it; the direct message never did.
        await bystander.SendAsync("marker");
        await bystander.WaitForMessageAsync(bystanderName, "marker");
        Assert.DoesNotContain(await bystander.MessagesAsync(), m => m.Text == "a secret for dave");
    }

    [Fact]
    public async Task LateJoiner_SeesTheRoomHistory()
    {
        string room = Unique("history");
        var early = await SignedInPageAsync("hist-early", "hist-early", "early");
        await early.JoinAsync(room);
        await early.WaitForMembersAsync("early");
        for (int i = 1; i <= 3; i++)
        {
            await early.SendAsync($"note {i}");
            await early.WaitForMessageAsync("early", $"note {i}");
        }

        var late = await SignedInPageAsync("hist-late", "hist-late", "late");
        await late.JoinAsync(room);
        await late.WaitForMessageAsync("early", "note 3");
        Assert.Equal([("early", "note 1"), ("early", "note 2"), ("early", "note 3")], await late.MessagesAsync());
    }

    [Fact]
    public async Task HtmlInAMessage_IsShownAsLiteralText_AndCreatesNoElement()
    {
        string room = Unique("xss");
        const string Payload = "<img src=x onerror=\"window.__xss = (window.__xss || 0) + 1\"><script>window.__xss = 99</script>";
        var mallory = await SignedInPageAsync("xss-mallory", "xss-mallory", "mallory");
        var victim = await SignedInPageAsync("xss-victim", "xss-victim", "victim");
        await mallory.JoinAsync(room);
        await victim.JoinAsync(room);
        await mallory.WaitForMembersAsync("mallory", "victim");

        await mallory.SendAsync(Payload);
        await victim.WaitForMessageAsync("mallory", Payload);
        await mallory.WaitForMessageAsync("mallory", Payload);

        // Rendered again from history on a late join too.
        var late = await SignedInPageAsync("xss-late", "xss-late", "late-reader");
        await late.JoinAsync(room);
        await late.WaitForMessageAsync("mallory", Payload);

        foreach (var page in new[] { victim, mallory, late })
        {
            Assert.Equal(0, await page.CountAsync("[data-testid=messages] img, [data-testid=messages] script, img"));
            Assert.Equal(0, await page.CountAsync("[data-testid=messages] .text *"));
            var xss = await page.EvaluateAsync("return window.__xss ?? null;");
            Assert.Null(xss);
        }
    }

    [Fact]
    public async Task AfterAClose1008_ThePageStopsAndDoesNotReconnect()
    {
        await Browser.NewContextAsync("abuse");
        var page = await ChatPage.OpenAsync(Browser, "abuse", "abuse", server.BaseUri);
        // Keep a handle on the page's sockets, so the test can make it misbehave (the page itself never would).
        await page.EvaluateAsync("""
            const Native = window.WebSocket;
            window.__sockets = [];
            window.WebSocket = class extends Native {
              constructor(...args) { super(...args); window.__sockets.push(this); }
            };
            return null;
            """);
        await page.SignInAsync("noisy");
        await page.EvaluateAsync("for (let i = 0; i < 10; i++) window.__sockets[0].send('{not json'); return null;");
        await page.WaitForStateAsync("stopped");
        Assert.Equal("disconnected: too many invalid messages", await page.StatusTextAsync());

        // Well past the first backoff ceilings: still one socket, still stopped.
        await Task.Delay(TimeSpan.FromSeconds(3));
        Assert.Equal(1, (await page.EvaluateAsync("return window.__sockets.length;"))!.GetValue<int>());
        await page.WaitForStateAsync("stopped");
        var closes = await page.EvaluateAsync("return window.chatCloses;");
        Assert.Equal(1008, closes!.AsArray().Single()!["code"]!.GetValue<int>());
    }

    [Fact]
    public async Task PageOfAnotherOrigin_CannotConnect_403()
    {
        // The victim is signed in on the chat's origin; the attacker's page is on another port of the same host, so
        // the browser sends the SameSite=Strict cookie with its WebSocket request (same site, other origin).
        var victim = await SignedInPageAsync("cors-victim", "cors-victim", "victim");
        await using var attacker = await AttackerSite.StartAsync(ChatConnection.WebSocketUri(server.BaseUri));

        using var rejections = new RejectionRecorder();
        await Browser.NewPageAsync("cors-victim", "cors-attacker");
        Assert.Equal(200, await Browser.GotoAsync("cors-attacker", attacker.BaseUri));
        var result = await Browser.WaitForAsync("cors-attacker", "return window.result;");
        output.WriteLine($"attacker page: {result}");
        Assert.False(result!["opened"]!.GetValue<bool>(), "the cross-origin page's WebSocket opened");
        Assert.Equal(1006, result["code"]!.GetValue<int>());

        // The server refused it by origin (so after authentication: the cookie came along), with 403.
        var refused = await rejections.WaitForAsync(r => r.Reason == "OriginNotAllowed");
        Assert.Equal(403, refused.Status);

        var log = await Browser.LogAsync("cors-attacker");
        output.WriteLine(string.Join('\n', log));
        Assert.Contains(log, line => line.Contains("403", StringComparison.Ordinal));

        // The victim's own page still works.
        await victim.WaitForStateAsync("connected");
    }

    /// <summary>Another origin on 127.0.0.1 serving a page that opens a WebSocket to the chat and reports what happened.</summary>
    private sealed class AttackerSite : IAsyncDisposable
    {
        private readonly WebApplication _app;

        private AttackerSite(WebApplication app, Uri baseUri)
        {
            _app = app;
            BaseUri = baseUri;
        }

        public Uri BaseUri { get; }

        public static async Task<AttackerSite> StartAsync(Uri target)
        {
            var builder = WebApplication.CreateSlimBuilder();
            builder.Logging.ClearProviders();
            builder.WebHost.UseKestrel(kestrel => kestrel.Listen(IPAddress.Loopback, 0));
            var app = builder.Build();
            string html = $$"""
                <!doctype html><title>attacker</title><script>
                const ws = new WebSocket({{System.Text.Json.JsonSerializer.Serialize(target.ToString())}});
                let opened = false;
                ws.onopen = () => { opened = true; ws.send(JSON.stringify({ type: 'join', room: 'stolen' })); };
                ws.onclose = (e) => { window.result = { opened, code: e.code }; };
                </script>
                """;
            app.MapGet("/", () => Results.Content(html, "text/html; charset=utf-8"));
            await app.StartAsync();
            string address = app.Services.GetRequiredService<IServer>().Features.GetRequiredFeature<IServerAddressesFeature>().Addresses.Single();
            return new AttackerSite(app, new Uri(address));
        }

        public async ValueTask DisposeAsync()
        {
            await _app.StopAsync();
            await _app.DisposeAsync();
        }
    }
}

/// <summary>Records the library's handshake rejections (<c>shockwave.handshake.rejections</c>) while it lives.</summary>
public sealed class RejectionRecorder : IDisposable
{
    private readonly MeterListener _listener = new();
    private readonly List<(string Reason, int Status)> _seen = [];
    private readonly Lock _lock = new();

    public RejectionRecorder()
    {
        _listener.InstrumentPublished = (instrument, listener) =>
        {
            if (instrument.Meter.Name == "Shockwave" && instrument.Name == "shockwave.handshake.rejections")
            {
                listener.EnableMeasurementEvents(instrument);
            }
        };
        _listener.SetMeasurementEventCallback<long>((_, _, tags, _) =>
        {
            string reason = "";
            int status = 0;
            foreach (var tag in tags)
            {
                if (tag.Key == "shockwave.rejection_reason")
                {
                    reason = tag.Value?.ToString() ?? "";
                }
                else if (tag.Key == "http.response.status_code")
                {
                    status = Convert.ToInt32(tag.Value, System.Globalization.CultureInfo.InvariantCulture);
                }
            }

            lock (_lock)
            {
                _seen.Add((reason, status));
            }
        });
        _listener.Start();
    }

    public async Task<(string Reason, int Status)> WaitForAsync(Func<(string Reason, int Status), bool> match)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(10);
        while (DateTime.UtcNow < deadline)
        {
            lock (_lock)
            {
                foreach (var seen in _seen)
                {
                    if (match(seen))
                    {
                        return seen;
                    }
                }
            }

            await Task.Delay(50);
        }

        lock (_lock)
        {
            throw new TimeoutException($"No matching handshake rejection within 10 s; seen: {string.Join(", ", _seen)}");
        }
    }

    public void Dispose() => _listener.Dispose();
}
