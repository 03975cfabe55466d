using Xunit.Abstractions;

namespace Shockwave.Chat.Tests;

/// <summary>
/// The chat page in headless Chromium against two nodes of the sample on one real Redis: page 1 on node A, page 2 on
/// node B. Each test has its own cluster, since the second one stops and restarts node A.
/// </summary>
public sealed class TwoNodeBrowserTests(BrowserFixture fixture, ITestOutputHelper output) : IClassFixture<BrowserFixture>
{
    private BrowserDriver Browser => fixture.Browser;

    private async Task<ChatPage> SignedInPageAsync(string id, string displayName, Uri baseUri)
    {
        await Browser.NewContextAsync(id);
        var page = await ChatPage.OpenAsync(Browser, id, id, baseUri);
        await page.SignInAsync(displayName);
        return page;
    }

    [Fact]
    public async Task PagesOnTwoNodes_AgreeOnMessagesPresenceAndHistory()
    {
        await using var cluster = new ChatCluster();
        await cluster.InitializeAsync();
        const string Room = "spanning";
        var alice = await SignedInPageAsync("two-alice", "alice", cluster.A.BaseUri);
        var bob = await SignedInPageAsync("two-bob", "bob", cluster.B.BaseUri);

        await alice.JoinAsync(Room);
        await alice.WaitForMembersAsync("alice");
        await bob.JoinAsync(Room);
        await alice.WaitForMembersAsync("alice", "bob");
        await bob.WaitForMembersAsync("alice", "bob");

        await alice.SendAsync("typed on node A");
        await bob.WaitForMessageAsync("alice", "typed on node A");
        await alice.WaitForMessageAsync("alice", "typed on node A");
        await bob.SendAsync("answered on node B <i>literally</i>");
        await alice.WaitForMessageAsync("bob", "answered on node B <i>literally</i>");
        Assert.Equal(await alice.MessagesAsync(), await bob.MessagesAsync());

        // A late page on node B gets the history both nodes wrote, in order, and everyone's list grows on both nodes.
        var carol = await SignedInPageAsync("two-carol", "carol", cluster.B.BaseUri);
        await carol.JoinAsync(Room);
        await carol.WaitForMessageAsync("bob", "answered on node B <i>literally</i>");
        Assert.Equal(await alice.MessagesAsync(), await carol.MessagesAsync());
        await alice.WaitForMembersAsync("alice", "bob", "carol");
        await bob.WaitForMembersAsync("alice", "bob", "carol");
        await carol.WaitForMembersAsync("alice", "bob", "carol");

        // Leaving on B (carol joins another room) reaches the page on A.
        await carol.JoinAsync("elsewhere");
        await alice.WaitForMembersAsync("alice", "bob");
        output.WriteLine($"shown on A: {string.Join(" | ", (await alice.MessagesAsync()).Select(m => $"{m.From}: {m.Text}"))}");
        foreach (var context in new[] { "two-alice", "two-bob", "two-carol" })
        {
            await Browser.CloseContextAsync(context);
        }
    }

    [Fact]
    public async Task NodeAStopsGracefully_PageReconnectsToItsRestart_AndSeesWhatNodeBGotMeanwhile()
    {
        await using var cluster = new ChatCluster();
        await cluster.InitializeAsync();
        const string Room = "failover";
        var alice = await SignedInPageAsync("fail-alice", "alice", cluster.A.BaseUri);
        var bob = await SignedInPageAsync("fail-bob", "bob", cluster.B.BaseUri);
        await alice.JoinAsync(Room);
        await bob.JoinAsync(Room);
        await alice.WaitForMembersAsync("alice", "bob");
        await bob.WaitForMembersAsync("alice", "bob");
        await alice.SendAsync("before the stop");
        await bob.WaitForMessageAsync("alice", "before the stop");

        // A graceful stop: the drain closes Alice's socket with 1012; her leaving reaches Bob on B through Redis.
        var stopwatch = System.Diagnostics.Stopwatch.StartNew();
        int port = await cluster.StopAAsync();
        await alice.WaitForStateAsync("reconnecting");
        await bob.WaitForMembersAsync("bob");
        output.WriteLine($"node A stopped in {stopwatch.ElapsedMilliseconds} ms; page 1: {await alice.StatusTextAsync()}");

        // Meanwhile, on node B.
        await bob.SendAsync("meanwhile 1");
        await bob.SendAsync("meanwhile <2>");
        await bob.WaitForMessageAsync("bob", "meanwhile <2>");
        Assert.Equal("reconnecting", (await alice.EvaluateAsync("return document.querySelector('[data-testid=status]').dataset.state;"))!.GetValue<string>());

        // Node A comes back on its address, a new process on the same Redis and keys: the page's cookie still works,
        // it rejoins its room and finds the meanwhile messages in the history node B wrote.
        stopwatch.Restart();
        cluster.RestartA(port);
        await alice.WaitForStateAsync("connected", TimeSpan.FromSeconds(30));
        output.WriteLine($"page 1 connected again {stopwatch.ElapsedMilliseconds} ms after node A's restart");
        await alice.WaitForMessageAsync("bob", "meanwhile 1");
        await alice.WaitForMessageAsync("bob", "meanwhile <2>");
        await alice.WaitForMembersAsync("alice", "bob");
        await bob.WaitForMembersAsync("alice", "bob");

        // The live path across the nodes works again, both ways.
        await alice.SendAsync("back on node A");
        await bob.WaitForMessageAsync("alice", "back on node A");
        await bob.SendAsync("welcome back");
        await alice.WaitForMessageAsync("bob", "welcome back");
        var closes = await alice.EvaluateAsync("return window.chatCloses;");
        output.WriteLine($"closes seen by page 1: {closes}");
        Assert.Equal(1012, closes!.AsArray()[0]!["code"]!.GetValue<int>());
        foreach (var context in new[] { "fail-alice", "fail-bob" })
        {
            await Browser.CloseContextAsync(context);
        }
    }
}
