using Xunit.Abstractions;

namespace Shockwave.Chat.Tests;

/// <summary>
/// A page connected to a node that stops gracefully: the drain closes it with 1012, the page shows "reconnecting",
/// and when a node is back on the same address it reconnects by itself, rejoins its room and re-fetches the history.
/// History is in memory here, so the restarted node starts empty: the "meanwhile" messages are sent to it after the
/// restart, while an upgrade gate holds the page's reconnects at 503, so they are certainly sent before the page is
/// back and can only reach it through the re-fetched history.
/// </summary>
public sealed class ResilienceBrowserTests(BrowserFixture fixture, ITestOutputHelper output) : IClassFixture<BrowserFixture>
{
    private BrowserDriver Browser => fixture.Browser;

    [Fact]
    public async Task NodeDrainsAndRestarts_PageReconnectsRejoinsAndSeesMessagesSentMeanwhile()
    {
        const string Room = "ops";
        var first = new ChatAppFactory().Start();
        int port = first.Port;
        ChatAppFactory? second = null;
        try
        {
            await Browser.NewContextAsync("res-alice");
            var alice = await ChatPage.OpenAsync(Browser, "res-alice", "res-alice", first.BaseUri);
            await alice.SignInAsync("alice");
            await alice.JoinAsync(Room);
            await using (var bob = await ChatConnection.ConnectAsync(first.BaseUri, "bob"))
            {
                await bob.JoinAsync(Room);
                await alice.WaitForMembersAsync("alice", "bob");
                await bob.SendAsync(new { type = "say", room = Room, text = "before the restart" });
                await alice.WaitForMessageAsync("bob", "before the restart");

                // A graceful stop: the drain closes every connection with 1012 within its (1 s) window.
                var stopping = first.DisposeAsync().AsTask();
                var (status, _) = await bob.ExpectCloseAsync();
                Assert.Equal(1012, (int?)status);
                await alice.WaitForStateAsync("reconnecting");
                output.WriteLine($"while stopping: {await alice.StatusTextAsync()}");
                await stopping.WaitAsync(TimeSpan.FromSeconds(30));
            }

            var closes = await alice.EvaluateAsync("return window.chatCloses;");
            output.WriteLine($"closes seen by the page: {closes}");
            Assert.Equal(1012, closes!.AsArray()[0]!["code"]!.GetValue<int>());
            Assert.True(closes.AsArray()[0]!["opened"]!.GetValue<bool>());

            // The node is down: the page keeps trying, with backoff, and says so.
            await Task.Delay(TimeSpan.FromSeconds(1));
            await alice.WaitForStateAsync("reconnecting");
            Assert.StartsWith("reconnecting", await alice.StatusTextAsync(), StringComparison.Ordinal);

            // A node comes back on the same address; the page's upgrades are held at 503 until the messages are in.
            var gate = new UpgradeGate();
            second = new ChatAppFactory(port, gate).Start();
            await using (var carol = await ChatConnection.ConnectAsync(second.BaseUri, "carol"))
            {
                await carol.JoinAsync(Room);
                await carol.SendAsync(new { type = "say", room = Room, text = "meanwhile 1" });
                await carol.ExpectAsync("message");
                await carol.SendAsync(new { type = "say", room = Room, text = "meanwhile <2>" });
                await carol.ExpectAsync("message");
                Assert.Equal("reconnecting", (await alice.EvaluateAsync("return document.querySelector('[data-testid=status]').dataset.state;"))!.GetValue<string>());

                gate.Open();
                // The backoff ceiling is 15 s; a page that drew a long wait gets there within it.
                await alice.WaitForStateAsync("connected", TimeSpan.FromSeconds(30));
                await alice.WaitForMessageAsync("carol", "meanwhile 1");
                await alice.WaitForMessageAsync("carol", "meanwhile <2>");
                await alice.WaitForMembersAsync("alice", "carol");
                var presence = await carol.ExpectAsync("members");
                Assert.Contains("alice", presence.GetProperty("members").EnumerateArray().Select(m => m.GetString()));

                // And the live path works again, both ways.
                await alice.SendAsync("back online");
                var relayed = await carol.ExpectAsync("message");
                Assert.Equal(("alice", "back online"), (relayed.GetProperty("from").GetString(), relayed.GetProperty("text").GetString()));
            }

            closes = await alice.EvaluateAsync("return window.chatCloses;");
            output.WriteLine($"closes seen by the page: {closes}");
            output.WriteLine($"messages shown: {string.Join(" | ", (await alice.MessagesAsync()).Select(m => $"{m.From}: {m.Text}"))}");
        }
        finally
        {
            await first.DisposeAsync();
            if (second is not null)
            {
                await second.DisposeAsync();
            }
        }
    }

    [Fact]
    public async Task RoomJoinedBeforeTheSocketOpens_IsJoinedOnceItOpens()
    {
        // Upgrades are held at 503: sign-in works (plain HTTP), the socket cannot open, the page retries with backoff.
        var gate = new UpgradeGate();
        await using var app = new ChatAppFactory(gate: gate).Start();
        await Browser.NewContextAsync("early-join");
        var page = await ChatPage.OpenAsync(Browser, "early-join", "early-join", app.BaseUri);
        await Browser.FillAsync(page.Name, "name", "eager");
        await Browser.ClickAsync(page.Name, BrowserDriver.TestId("signin"));
        await page.WaitForStateAsync("reconnecting");
        await page.JoinAsync("standup");

        await using var watcher = await ChatConnection.ConnectAsync(app.BaseUri, "watcher");
        await watcher.JoinAsync("standup");
        await watcher.SendAsync(new { type = "say", room = "standup", text = "said before eager was connected" });
        await watcher.ExpectAsync("message");

        gate.Open();
        await page.WaitForStateAsync("connected", TimeSpan.FromSeconds(30));
        await page.WaitForMembersAsync("eager", "watcher");
        await page.WaitForMessageAsync("watcher", "said before eager was connected");
        var presence = await watcher.ExpectAsync("members");
        Assert.Equal(["eager", "watcher"], presence.GetProperty("members").EnumerateArray().Select(m => m.GetString()!).ToArray());
        var closes = await page.EvaluateAsync("return window.chatCloses;");
        output.WriteLine($"refused attempts before the gate opened: {closes!.AsArray().Count}");
        Assert.All(closes.AsArray(), close => Assert.False(close!["opened"]!.GetValue<bool>()));
    }
}
