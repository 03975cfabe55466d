using System.Net.WebSockets;
using System.Text;
using System.Threading.Channels;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Shockwave.Middleware.Tests.Support;

namespace Shockwave.Middleware.Tests.Clients;

/// <summary>Addressing from outside the connections (a test, a BackgroundService) and from a hub, on a real Kestrel.</summary>
public sealed class AddressingTests
{
    // Each connection introduces itself with its id, then reads until closed.
    private static async Task IntroduceAndWait(WibeSocket socket, CancellationToken ct)
    {
        await socket.SendTextAsync(socket.ConnectionId, ct);
        await foreach (var _ in socket.ReadMessagesAsync(ct))
        {
        }
    }

    private static TestAppOptions WithTestUsers() => new()
    {
        Services = services => services.AddAuthentication(TestAuthHandler.SchemeName).AddScheme<AuthenticationSchemeOptions, TestAuthHandler>(TestAuthHandler.SchemeName, null),
        Pipeline = app => app.UseAuthentication(),
    };

    private static async Task<(ClientWebSocket Socket, string Id)> ConnectAsync(KestrelApp app, string path, string? user = null)
    {
        var socket = await ClientWebSocketExtensions.ConnectAsync(app.WebSocketUri(path), o =>
        {
            if (user is not null)
            {
                o.SetRequestHeader(TestAuthHandler.UserHeader, user);
            }
        });
        var id = await socket.ReceiveMessageAsync();
        return (socket, Encoding.UTF8.GetString(id.Payload));
    }

    private static async Task<string> NextTextAsync(ClientWebSocket socket) => Encoding.UTF8.GetString((await socket.ReceiveMessageAsync()).Payload);

    [Fact]
    public async Task EveryAudience_ReachesExactlyItsMembers()
    {
        await using var app = await KestrelApp.StartAsync(e => e.MapWibeSocket("/ws", IntroduceAndWait), WithTestUsers());
        var a = await ConnectAsync(app, "/ws", "alice");
        var a2 = await ConnectAsync(app, "/ws", "alice");
        var b = await ConnectAsync(app, "/ws", "bob");
        var anon = await ConnectAsync(app, "/ws");
        ClientWebSocket[] everyone = [a.Socket, a2.Socket, b.Socket, anon.Socket];
        var clients = app.Services.GetRequiredService<IWibeSocketClientsProvider>().GetClients("/ws");
        Assert.Equal(4, clients.ConnectionCount);

        await clients.AddToGroupAsync(a.Id, "room");
        await clients.AddToGroupAsync(b.Id, "room");
        await clients.AddToGroupAsync(b.Id, "room"); // twice is one membership
        Assert.Equal([a.Id, b.Id], clients.GetGroupMembers("room").Order());

        var group = await clients.SendToGroupAsync("room", "to the room");
        var groupExcept = await clients.SendToGroupExceptAsync("room", WibeSocketPreparedMessage.CreateText("room but bob"), [b.Id]);
        var user = await clients.SendToUserAsync("alice", "to alice");
        var single = await clients.SendToConnectionAsync(anon.Id, "to anon");
        var allExcept = await clients.SendToAllExceptAsync(WibeSocketPreparedMessage.CreateText("all but a2"), [a2.Id]);
        var all = await clients.SendToAllAsync("marker");

        Assert.Equal(new WibeSocketDeliveryResult(2, 0, 0, 0), group);
        Assert.Equal(1, groupExcept.Queued);
        Assert.Equal(2, user.Queued);
        Assert.Equal(1, single.Queued);
        Assert.Equal(3, allExcept.Queued);
        Assert.Equal(4, all.Recipients);

        // Each connection's stream, in send order, up to the marker everyone gets last.
        Assert.Equal(["to the room", "room but bob", "to alice", "all but a2", "marker"], await UntilMarkerAsync(a.Socket));
        Assert.Equal(["to alice", "marker"], await UntilMarkerAsync(a2.Socket));
        Assert.Equal(["to the room", "all but a2", "marker"], await UntilMarkerAsync(b.Socket));
        Assert.Equal(["to anon", "all but a2", "marker"], await UntilMarkerAsync(anon.Socket));

        foreach (var socket in everyone)
        {
            await socket.CloseBoundedAsync();
        }
    }

    [Fact]
    public async Task Membership_EndsWithTheConnection()
    {
        await using var app = await KestrelApp.StartAsync(e => e.MapWibeSocket("/ws", IntroduceAndWait), WithTestUsers());
        var a = await ConnectAsync(app, "/ws", "alice");
        var b = await ConnectAsync(app, "/ws", "bob");
        var clients = app.Services.GetRequiredService<IWibeSocketClientsProvider>().GetClients("/ws");
        await clients.AddToGroupAsync(a.Id, "room");
        await clients.AddToGroupAsync(b.Id, "room");

        await b.Socket.CloseBoundedAsync();
        await Eventually.TrueAsync(() => clients.ConnectionCount == 1, what: "the closed connection leaves the endpoint");

        Assert.Equal([a.Id], clients.GetGroupMembers("room"));
        Assert.Equal(0, (await clients.SendToUserAsync("bob", "gone?")).Recipients);
        Assert.Equal(1, (await clients.SendToGroupAsync("room", "still here")).Queued);
        Assert.Equal("still here", await NextTextAsync(a.Socket));

        await a.Socket.CloseBoundedAsync();
        await Eventually.TrueAsync(() => clients.ConnectionCount == 0, what: "the last connection leaves");
        Assert.Empty(clients.GetGroupMembers("room"));
    }

    [Fact]
    public async Task UnknownAudiences_AreEmpty_AndBadGroupNamesAreRefused()
    {
        await using var app = await KestrelApp.StartAsync(e => e.MapWibeSocket("/ws", IntroduceAndWait));
        var clients = app.Services.GetRequiredService<IWibeSocketClientsProvider>().GetClients("/ws");

        Assert.Equal(default, await clients.SendToConnectionAsync("no-such-id", "x"));
        Assert.Equal(default, await clients.SendToUserAsync("nobody", "x"));
        Assert.Equal(default, await clients.SendToGroupAsync("no-group", "x"));
        await clients.AddToGroupAsync("no-such-id", "room");
        Assert.Empty(clients.GetGroupMembers("room"));

        await Assert.ThrowsAsync<ArgumentException>(async () => await clients.AddToGroupAsync("id", ""));
        await Assert.ThrowsAsync<ArgumentException>(async () => await clients.AddToGroupAsync("id", new string('g', WibeSocketGroups.MaxNameLength + 1)));
        await Assert.ThrowsAsync<ArgumentException>(async () => await clients.SendToGroupAsync("bad\nname", "x"));
        Assert.NotEmpty(app.Logs.Events(150));
    }

    [Fact]
    public async Task AHubAndABackgroundService_AddressTheSameConnections()
    {
        var options = WithTestUsers();
        var ticks = Channel.CreateUnbounded<string>();
        await using var app = await KestrelApp.StartAsync(e => e.MapWibeSocket<RoomHub>("/rooms"), new TestAppOptions
        {
            Services = services =>
            {
                options.Services!(services);
                services.AddSingleton(ticks);
                services.AddHostedService<Ticker>();
            },
            Pipeline = options.Pipeline,
        });

        var alice = await ConnectAsync(app, "/rooms", "alice");
        var bob = await ConnectAsync(app, "/rooms", "bob");
        await alice.Socket.SendTextAsync("join:lobby");
        Assert.Equal("joined lobby", await NextTextAsync(alice.Socket));

        // The hub relays a room message to the room's other members.
        await bob.Socket.SendTextAsync("join:lobby");
        Assert.Equal("joined lobby", await NextTextAsync(bob.Socket));
        await alice.Socket.SendTextAsync("say:lobby:hello");
        Assert.Equal("alice: hello", await NextTextAsync(bob.Socket));

        // The background service reaches the group through IWibeSocketClients<RoomHub>.
        await ticks.Writer.WriteAsync("tick 1");
        Assert.Equal("tick 1", await NextTextAsync(alice.Socket));
        Assert.Equal("tick 1", await NextTextAsync(bob.Socket));

        var clients = app.Services.GetRequiredService<IWibeSocketClients<RoomHub>>();
        await bob.Socket.SendTextAsync("leave:lobby");
        Assert.Equal("left lobby", await NextTextAsync(bob.Socket));
        Assert.Equal([alice.Id], clients.GetGroupMembers("lobby"));

        await alice.Socket.CloseBoundedAsync();
        await bob.Socket.CloseBoundedAsync();
    }

    private static async Task<List<string>> UntilMarkerAsync(ClientWebSocket socket)
    {
        var received = new List<string>();
        while (true)
        {
            string text = await NextTextAsync(socket);
            received.Add(text);
            if (text == "marker")
            {
                return received;
            }
        }
    }

    public sealed class RoomHub : WibeSocketHub
    {
        public override Task OnConnectedAsync(CancellationToken cancellationToken) => Socket.SendTextAsync(Socket.ConnectionId, cancellationToken).AsTask();

        public override async Task OnMessageAsync(WibeSocketMessage message, CancellationToken cancellationToken)
        {
            string[] parts = message.GetText().Split(':', 3);
            switch (parts[0])
            {
                case "join":
                    await JoinGroupAsync(parts[1], cancellationToken);
                    await Socket.SendTextAsync($"joined {parts[1]}", cancellationToken);
                    break;
                case "leave":
                    await LeaveGroupAsync(parts[1], cancellationToken);
                    await Socket.SendTextAsync($"left {parts[1]}", cancellationToken);
                    break;
                case "say":
                    using (var relay = WibeSocketPreparedMessage.CreateText($"{Socket.User.Identity!.Name}: {parts[2]}"))
                    {
                        await Clients.SendToGroupExceptAsync(parts[1], relay, [Socket.ConnectionId], cancellationToken);
                    }

                    break;
            }
        }
    }

    private sealed class Ticker(Channel<string> ticks, IWibeSocketClients<RoomHub> clients) : BackgroundService
    {
        protected override async Task ExecuteAsync(CancellationToken stoppingToken)
        {
            await foreach (string tick in ticks.Reader.ReadAllAsync(stoppingToken))
            {
                await clients.SendToGroupAsync("lobby", tick, stoppingToken);
            }
        }
    }
}
