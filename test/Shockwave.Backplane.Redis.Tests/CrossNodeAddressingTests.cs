using System.Globalization;

namespace Shockwave.Backplane.Redis.Tests;

/// <summary>
/// Three real Kestrel nodes on one real Redis, two ClientWebSockets on each: every addressing mode reaches exactly its
/// recipients on every node, once, in send order.
/// </summary>
public sealed class CrossNodeAddressingTests : IAsyncLifetime
{
    private const string Prefix = "addressing";
    private const string Hub = "Shockwave.Backplane.Redis.Tests.RoomHub";
    private RedisServer _redis = null!;
    private BackplaneNode _a = null!, _b = null!, _c = null!;
    private TestClient _a1 = null!, _a2 = null!, _b1 = null!, _b2 = null!, _c1 = null!, _c2 = null!;

    private TestClient[] Everyone => [_a1, _a2, _b1, _b2, _c1, _c2];

    public async Task InitializeAsync()
    {
        _redis = await RedisServer.StartAsync();
        _a = await BackplaneNode.StartAsync(_redis.ConnectionString, Prefix, "node-a");
        _b = await BackplaneNode.StartAsync(_redis.ConnectionString, Prefix, "node-b");
        _c = await BackplaneNode.StartAsync(_redis.ConnectionString, Prefix, "node-c");
        _a1 = await _a.ConnectAsync("ann");
        _a2 = await _a.ConnectAsync("bob");
        _b1 = await _b.ConnectAsync("ann");
        _b2 = await _b.ConnectAsync("cid");
        _c1 = await _c.ConnectAsync("bob");
        _c2 = await _c.ConnectAsync("cid");
        await RedisAdmin.WaitForSubscribersAsync(_redis, $"{Prefix}:{Hub}:all", 3);
        await RedisAdmin.WaitForSubscribersAsync(_redis, $"{Prefix}:{Hub}:u:ann", 2);
        await RedisAdmin.WaitForSubscribersAsync(_redis, $"{Prefix}:{Hub}:u:cid", 2);
    }

    public async Task DisposeAsync()
    {
        try
        {
            foreach (var client in Everyone)
            {
                await client.DisposeAsync();
            }

            await _a.DisposeAsync();
            await _b.DisposeAsync();
            await _c.DisposeAsync();
        }
        finally
        {
            await _redis.DisposeAsync();
        }
    }

    [Fact]
    public async Task EveryAddressingMode_ReachesExactlyItsRecipientsOnEveryNode_Once()
    {
        var all = await _a.Clients.SendToAllAsync("all from a");
        Assert.Equal(2, all.Queued);
        Assert.Equal(WibeSocketRemoteDelivery.Published, all.Remote);

        await _b.Clients.SendToAllExceptAsync(Prepared("all but a1 and c2, from b"), [_a1.Id, _c2.Id]);

        var direct = await _a.Clients.SendToConnectionAsync(_c2.Id, "to c2, from a");
        Assert.Equal(0, direct.Recipients);
        Assert.Equal(WibeSocketRemoteDelivery.Published, direct.Remote);

        await _c.Clients.SendToUserAsync("ann", "to ann, from c");

        // Group members on three nodes, added from one node: two of them held by other nodes.
        await _a.Clients.AddToGroupAsync(_a2.Id, "room");
        await _a.Clients.AddToGroupAsync(_b2.Id, "room");
        await _a.Clients.AddToGroupAsync(_c1.Id, "room");
        await RedisAdmin.WaitForSubscribersAsync(_redis, $"{Prefix}:{Hub}:g:room", 3);
        await _b.Clients.SendToGroupAsync("room", "to room, from b");
        await _c.Clients.SendToGroupExceptAsync("room", Prepared("to room but c1, from c"), [_c1.Id]);

        await _c.Clients.RemoveFromGroupAsync(_b2.Id, "room");
        await RedisAdmin.WaitForSubscribersAsync(_redis, $"{Prefix}:{Hub}:g:room", 2);
        await _b.Clients.SendToGroupAsync("room", "to room without b2, from b");

        // Exact counts; order is compared per channel by the ordering test (channels are not ordered with each other).
        await AssertReceivesAsync(_a1, ["all from a", "to ann, from c"]);
        await AssertReceivesAsync(_a2, ["all from a", "all but a1 and c2, from b", "to room, from b", "to room but c1, from c", "to room without b2, from b"]);
        await AssertReceivesAsync(_b1, ["all from a", "all but a1 and c2, from b", "to ann, from c"]);
        await AssertReceivesAsync(_b2, ["all from a", "all but a1 and c2, from b", "to room, from b", "to room but c1, from c"]);
        await AssertReceivesAsync(_c1, ["all from a", "all but a1 and c2, from b", "to room, from b", "to room without b2, from b"]);
        await AssertReceivesAsync(_c2, ["all from a", "to c2, from a"]);
    }

    [Fact]
    public async Task OneSenderToOneGroup_EveryRecipientOnEveryNode_GetsSendOrder()
    {
        foreach (var member in new[] { _a1, _b1, _b2, _c2 })
        {
            await _c.Clients.AddToGroupAsync(member.Id, "ordered");
        }

        await RedisAdmin.WaitForSubscribersAsync(_redis, $"{Prefix}:{Hub}:g:ordered", 3);
        const int count = 500;
        for (int i = 0; i < count; i++)
        {
            await _a.Clients.SendToGroupAsync("ordered", i.ToString(CultureInfo.InvariantCulture));
        }

        await _a.Clients.SendToGroupAsync("ordered", "end");
        var expected = Enumerable.Range(0, count).Select(i => i.ToString(CultureInfo.InvariantCulture)).ToList();
        foreach (var member in new[] { _a1, _b1, _b2, _c2 })
        {
            Assert.Equal(expected, await member.ReceiveUntilAsync("end"));
        }

        foreach (var outsider in new[] { _a2, _c1 })
        {
            Assert.Empty(await outsider.DrainAsync(TimeSpan.FromMilliseconds(200)));
        }
    }

    [Fact]
    public async Task AJoinReturnsOnceItsNodeListens_SoASendFromAnotherNodeRightAfterItArrives()
    {
        // Regression: the first local member's join returned before this node had subscribed to the group's channel,
        // so a send from another node right after the join was lost on it, unreported.
        for (int i = 0; i < 20; i++)
        {
            string group = $"fresh-{i}";
            await _a.Clients.AddToGroupAsync(_a2.Id, group);
            await _b.Clients.SendToGroupAsync(group, group);
            Assert.Equal(group, await _a2.ReceiveAsync());
        }
    }

    [Fact]
    public async Task ASendToAGroupThenARemoteRemove_ReachTheRemovedMemberInThatOrder()
    {
        // Regression: the remove travelled on the holding node's own channel and could overtake the group message on
        // the group's channel there, so the member was removed before the message sent to it first arrived.
        for (int i = 0; i < 20; i++)
        {
            string group = $"leaving-{i}";
            await _b.Clients.AddToGroupAsync(_b2.Id, group);
            await _c.Clients.AddToGroupAsync(_c1.Id, group);
            await _c.Clients.SendToGroupAsync(group, group);
            await _c.Clients.RemoveFromGroupAsync(_b2.Id, group);
            Assert.Equal(group, await _b2.ReceiveAsync());
            Assert.Equal(group, await _c1.ReceiveAsync());
        }
    }

    [Fact]
    public async Task ANodeThatDies_RemovesNothingItDidNotOwn()
    {
        foreach (var member in new[] { _a1, _b1, _c1 })
        {
            await _a.Clients.AddToGroupAsync(member.Id, "survivors");
        }

        await RedisAdmin.WaitForSubscribersAsync(_redis, $"{Prefix}:{Hub}:g:survivors", 3);
        await _c.DisposeAsync();
        await RedisAdmin.WaitForSubscribersAsync(_redis, $"{Prefix}:{Hub}:g:survivors", 2);

        await _b.Clients.SendToGroupAsync("survivors", "still here");
        await _b.Clients.SendToUserAsync("bob", "bob still here");
        Assert.Equal("still here", await _a1.ReceiveAsync());
        Assert.Equal("still here", await _b1.ReceiveAsync());
        Assert.Equal("bob still here", await _a2.ReceiveAsync());
        Assert.Equal([_a1.Id], _a.Clients.GetGroupMembers("survivors"));
        Assert.Equal([_b1.Id], _b.Clients.GetGroupMembers("survivors"));
    }

    [Fact]
    public async Task APayloadOverTheBackplaneMaximum_IsRefusedBeforeAnythingIsSent()
    {
        var error = await Assert.ThrowsAsync<ArgumentException>(async () =>
            await _a.Clients.SendToAllAsync(new byte[(1024 * 1024) + 1], WibeSocketMessageType.Binary));
        Assert.Contains("MaxPayloadLength", error.Message, StringComparison.Ordinal);

        await _a.Clients.SendToAllAsync("after");
        foreach (var client in Everyone)
        {
            Assert.Equal("after", await client.ReceiveAsync());
        }
    }

    /// <summary>Exactly these messages, each once, and nothing more within a quiet second.</summary>
    private static async Task AssertReceivesAsync(TestClient client, string[] expected)
    {
        var received = await client.DrainAsync(TimeSpan.FromSeconds(1));
        Assert.Equal(expected.Order(StringComparer.Ordinal), received.Order(StringComparer.Ordinal));
    }

    private static WibeSocketPreparedMessage Prepared(string text) => WibeSocketPreparedMessage.CreateText(text);
}
