using System.Collections.Concurrent;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Shockwave.Middleware.Tests.Support;
using Shockwave.Protocol;

namespace Shockwave.Middleware.Tests.TestServerTests;

/// <summary>Records what the hubs did, for the tests to inspect.</summary>
public sealed class HubJournal
{
    private int _nextId;

    public ConcurrentQueue<string> Events { get; } = new();

    public TaskCompletionSource<(WebSocketCloseStatus? Status, Exception? Exception)> Disconnected { get; } =
        new(TaskCreationOptions.RunContinuationsAsynchronously);

    public int NextId() => Interlocked.Increment(ref _nextId);
}

/// <summary>A scoped service, like a DbContext: it must live for one hub callback, not for the connection.</summary>
public sealed class ScopedProbe : IDisposable
{
    private readonly HubJournal _journal;

    public ScopedProbe(HubJournal journal)
    {
        _journal = journal;
        Id = journal.NextId();
        journal.Events.Enqueue($"created {Id}");
    }

    public int Id { get; }

    public void Dispose() => _journal.Events.Enqueue($"disposed {Id}");
}

/// <summary>Uses a scoped service in every callback and reports the instance it got.</summary>
public sealed class ProbeHub(HubJournal journal) : WibeSocketHub
{
    public override async Task OnConnectedAsync(CancellationToken cancellationToken)
    {
        var probe = Services.GetRequiredService<ScopedProbe>();
        bool same = ReferenceEquals(probe, Services.GetRequiredService<ScopedProbe>());
        await Socket.SendTextAsync($"connected {probe.Id} same-in-callback={same}", cancellationToken);
    }

    public override async Task OnMessageAsync(WibeSocketMessage message, CancellationToken cancellationToken)
    {
        var probe = Services.GetRequiredService<ScopedProbe>();
        await Socket.SendTextAsync($"{message.GetText()} {probe.Id}", cancellationToken);
    }

    public override Task OnDisconnectedAsync(WebSocketCloseStatus? closeStatus, Exception? exception)
    {
        journal.Disconnected.TrySetResult((closeStatus, exception));
        return Task.CompletedTask;
    }
}

/// <summary>[Authorize] on the hub type must protect the endpoint without RequireAuthorization.</summary>
[Authorize]
public sealed class SecretHub : WibeSocketHub
{
    public override Task OnConnectedAsync(CancellationToken cancellationToken) =>
        Socket.SendTextAsync("hello " + Socket.User.Identity?.Name, cancellationToken).AsTask();
}

/// <summary>Authorization, origin checks and hubs with DI, through the TestServer client.</summary>
public sealed class AuthorizationAndHubTests : IAsyncLifetime
{
    private TestServerApp _app = null!;

    public async Task InitializeAsync() => _app = await TestServerApp.StartAsync(
        e =>
        {
            e.MapWibeSocket("/secure", async (socket, ct) =>
            {
                await socket.SendTextAsync("user=" + socket.User.Identity?.Name, ct);
                await Handlers.EchoAsync(socket, ct);
            }).RequireAuthorization();
            e.MapWibeSocket<SecretHub>("/secret-hub");
            e.MapWibeSocket<ProbeHub>("/probe-hub");
        },
        new TestAppOptions
        {
            Services = services =>
            {
                services.AddSingleton<HubJournal>();
                services.AddScoped<ScopedProbe>();
                services.AddAuthorization()
                    .AddAuthentication(TestAuthHandler.SchemeName)
                    .AddScheme<AuthenticationSchemeOptions, TestAuthHandler>(TestAuthHandler.SchemeName, null);
            },
            Pipeline = app =>
            {
                app.UseAuthentication();
                app.UseAuthorization();
            },
        });

    public async Task DisposeAsync() => await _app.DisposeAsync();

    [Theory]
    [InlineData("/secure")]
    [InlineData("/secret-hub")]
    public async Task AuthorizedEndpoint_WithoutUser_Is401(string path)
    {
        var result = await _app.CreateClient().TryConnectAsync(path);

        Assert.Equal(401, result.StatusCode);
        Assert.Null(result.Connection);
        Assert.Empty(_app.Logs.Events(1));
    }

    [Theory]
    [InlineData("/secure", "user=alice")]
    [InlineData("/secret-hub", "hello alice")]
    public async Task AuthorizedEndpoint_WithUser_UpgradesAndSeesTheUser(string path, string greeting)
    {
        var client = _app.CreateClient();
        client.RequestHeaders[TestAuthHandler.UserHeader] = "alice";

        await using var connection = await client.ConnectAsync(path);

        Assert.Equal(greeting, (await connection.ReceiveAsync()).Text);
        await connection.CloseAsync();
    }

    // R6455-4.2.2-c: an authenticated user's browser on another origin is refused (cross-site WebSocket hijacking).
    [Fact]
    public async Task AuthorizedEndpoint_CrossOrigin_Is403()
    {
        var client = _app.CreateClient();
        client.RequestHeaders[TestAuthHandler.UserHeader] = "alice";
        client.Origin = "https://evil.example";

        var result = await client.TryConnectAsync("/secure");

        Assert.Equal(403, result.StatusCode);
        Assert.Null(result.Connection);
    }

    // The hub lifetime model: each callback gets its own DI scope, disposed when the callback returns, so a scoped
    // service never lives for the whole connection; OnDisconnectedAsync sees the client's close code and no exception.
    [Fact]
    public async Task Hub_ScopedServicePerCallback_DisposedAfterEach()
    {
        var journal = _app.Services.GetRequiredService<HubJournal>();
        await using var connection = await _app.CreateClient().ConnectAsync("/probe-hub");

        Assert.Equal("connected 1 same-in-callback=True", (await connection.ReceiveAsync()).Text);
        await connection.SendTextAsync("first");
        Assert.Equal("first 2", (await connection.ReceiveAsync()).Text);
        await connection.SendTextAsync("second");
        Assert.Equal("second 3", (await connection.ReceiveAsync()).Text);
        var close = await connection.CloseAsync((WebSocketCloseStatus)4001, "done");
        Assert.Equal((WebSocketCloseStatus)4001, close.CloseStatus);

        var (status, exception) = await journal.Disconnected.Task.WaitAsync(Eventually.DefaultTimeout);
        Assert.Equal((WebSocketCloseStatus)4001, status);
        Assert.Null(exception);
        await connection.WaitForServerToFinishAsync();
        Assert.Equal(["created 1", "disposed 1", "created 2", "disposed 2", "created 3", "disposed 3"], journal.Events.ToArray());
    }

    // R6455-4.2.2-d through TestServer: the refusal and its header reach the client, nothing is upgraded.
    [Fact]
    public async Task UnsupportedVersion_Is426()
    {
        var client = _app.CreateClient();
        client.RequestHeaders["Sec-WebSocket-Version"] = "8";

        var result = await client.TryConnectAsync("/probe-hub");

        Assert.Equal(426, result.StatusCode);
        Assert.Equal("13", result.Headers["Sec-WebSocket-Version"].ToString());
        Assert.Null(result.Connection);
    }

    // A throwing handler closes 1011 on the in-memory path too.
    [Fact]
    public async Task HandlerThrows_ClosesWith1011()
    {
        await using var app = await TestServerApp.StartAsync(e => e.MapWibeSocket("/ws", (_, _) => throw new InvalidOperationException("boom")));
        await using var connection = await app.CreateClient().ConnectAsync("/ws");

        var close = await connection.ReceiveAsync();

        Assert.Equal(WibeSocketMessageType.Close, close.Type);
        Assert.Equal(WebSocketCloseStatus.InternalServerError, close.CloseStatus);
    }
}
