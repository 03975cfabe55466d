using System.Net.WebSockets;
using System.Text;
using System.Threading.Channels;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Logging;
using Shockwave.Backplane;

namespace Shockwave.Backplane.Redis.Tests;

/// <summary>Each connection learns its id on open, so the test can address it from any node.</summary>
public sealed class RoomHub : WibeSocketHub
{
    public override async Task OnConnectedAsync(CancellationToken cancellationToken) =>
        await Socket.SendAsync(Encoding.UTF8.GetBytes("id:" + Socket.ConnectionId), WibeSocketMessageType.Text, cancellationToken);
}

/// <summary>The user is the <c>user</c> query parameter: enough to address users across nodes.</summary>
internal sealed class QueryUserIdProvider : IWibeSocketUserIdProvider
{
    public string? GetUserId(WibeSocket socket) => socket.HttpContext?.Request.Query["user"].FirstOrDefault();
}

/// <summary>One node: a real Kestrel on 127.0.0.1 serving <see cref="RoomHub"/> at <c>/hub</c>, on the Redis backplane.</summary>
public sealed class BackplaneNode : IAsyncDisposable
{
    private readonly WebApplication _app;
    private int _disposed;

    private BackplaneNode(WebApplication app, string nodeId)
    {
        _app = app;
        NodeId = nodeId;
    }

    public string NodeId { get; }

    public IServiceProvider Services => _app.Services;

    public IWibeSocketClients Clients => _app.Services.GetRequiredService<IWibeSocketClients<RoomHub>>();

    public Uri HubUri => new(_app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First().Replace("http", "ws", StringComparison.Ordinal) + "/hub");

    public static async Task<BackplaneNode> StartAsync(string redis, string prefix, string nodeId, Action<WibeSocketBackplaneOptions>? configure = null, Func<IServiceProvider, IWibeSocketBackplaneTransport, IWibeSocketBackplaneTransport>? wrapTransport = null, ILoggerProvider? logs = null)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        if (logs is not null)
        {
            builder.Logging.AddProvider(logs);
        }

        builder.Services.AddSingleton<IWibeSocketUserIdProvider, QueryUserIdProvider>();
        builder.Services.AddWibeSocket(o => o.Drain.Enabled = false).AddRedisBackplane(redis, o =>
        {
            o.ChannelPrefix = prefix;
            o.NodeId = nodeId;
            configure?.Invoke(o);
        });
        if (wrapTransport is not null)
        {
            var inner = builder.Services.Last(d => d.ServiceType == typeof(IWibeSocketBackplaneTransport));
            builder.Services.Remove(inner);
            builder.Services.AddSingleton(sp => wrapTransport(sp, (IWibeSocketBackplaneTransport)inner.ImplementationFactory!(sp)));
        }

        var app = builder.Build();
        app.MapWibeSocket<RoomHub>("/hub");
        await app.StartAsync();
        return new BackplaneNode(app, nodeId);
    }

    public async Task<HealthStatus> BackplaneHealthAsync()
    {
        var report = await _app.Services.GetRequiredService<HealthCheckService>().CheckHealthAsync(r => r.Name == WibeSocketBackplaneBuilderExtensions.HealthCheckName);
        return report.Status;
    }

    public async Task<TestClient> ConnectAsync(string? user = null)
    {
        var uri = user is null ? HubUri : new Uri(HubUri + "?user=" + Uri.EscapeDataString(user));
        var client = await TestClient.ConnectAsync(uri);
        string hello = await client.ReceiveAsync();
        Assert.StartsWith("id:", hello, StringComparison.Ordinal);
        client.Id = hello[3..];
        return client;
    }

    public async Task StopAsync() => await _app.StopAsync();

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 0)
        {
            await _app.DisposeAsync();
        }
    }
}

/// <summary>A real <see cref="ClientWebSocket"/> that collects every text message it receives.</summary>
public sealed class TestClient : IAsyncDisposable
{
    private readonly ClientWebSocket _socket = new();
    private readonly Channel<string> _received = Channel.CreateUnbounded<string>();
    private Task _reading = Task.CompletedTask;

    /// <summary>The connection id the hub told it.</summary>
    public string Id { get; set; } = "";

    public WebSocketState State => _socket.State;

    public WebSocketCloseStatus? CloseStatus => _socket.CloseStatus;

    public static async Task<TestClient> ConnectAsync(Uri uri)
    {
        var client = new TestClient();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        await client._socket.ConnectAsync(uri, timeout.Token);
        client._reading = client.ReadAsync();
        return client;
    }

    public async Task SendAsync(string text) =>
        await _socket.SendAsync(Encoding.UTF8.GetBytes(text), WebSocketMessageType.Text, endOfMessage: true, CancellationToken.None);

    /// <summary>The next message, within <paramref name="timeout"/> (5 s by default).</summary>
    public async Task<string> ReceiveAsync(TimeSpan? timeout = null)
    {
        using var cts = new CancellationTokenSource(timeout ?? TimeSpan.FromSeconds(5));
        return await _received.Reader.ReadAsync(cts.Token);
    }

    /// <summary>Everything received so far and within a short quiet period after it.</summary>
    public async Task<List<string>> DrainAsync(TimeSpan quiet)
    {
        var messages = new List<string>();
        while (true)
        {
            using var cts = new CancellationTokenSource(quiet);
            try
            {
                messages.Add(await _received.Reader.ReadAsync(cts.Token));
            }
            catch (Exception e) when (e is OperationCanceledException or ChannelClosedException)
            {
                return messages;
            }
        }
    }

    /// <summary>Reads until <paramref name="marker"/> arrives; returns what came before it.</summary>
    public async Task<List<string>> ReceiveUntilAsync(string marker, TimeSpan? timeout = null)
    {
        var messages = new List<string>();
        while (true)
        {
            string message = await ReceiveAsync(timeout);
            if (message == marker)
            {
                return messages;
            }

            messages.Add(message);
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (_socket.State == WebSocketState.Open)
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
            try
            {
                await _socket.CloseAsync(WebSocketCloseStatus.NormalClosure, null, timeout.Token);
            }
            catch (Exception e) when (e is WebSocketException or OperationCanceledException)
            {
            }
        }

        await _reading;
        _socket.Dispose();
    }

    private async Task ReadAsync()
    {
        var buffer = new byte[64 * 1024];
        try
        {
            while (true)
            {
                var message = new MemoryStream();
                WebSocketReceiveResult result;
                do
                {
                    result = await _socket.ReceiveAsync(buffer, CancellationToken.None);
                    message.Write(buffer, 0, result.Count);
                }
                while (!result.EndOfMessage);

                if (result.MessageType == WebSocketMessageType.Close)
                {
                    break;
                }

                _received.Writer.TryWrite(Encoding.UTF8.GetString(message.GetBuffer(), 0, (int)message.Length));
            }
        }
        catch (WebSocketException)
        {
        }
        finally
        {
            _received.Writer.TryComplete();
        }
    }
}

/// <summary>Keeps the event ids of every log entry at Warning or above.</summary>
public sealed class WarningCollector : ILoggerProvider
{
    private readonly System.Collections.Concurrent.ConcurrentQueue<EventId> _warnings = new();

    public IReadOnlyCollection<EventId> Warnings => _warnings;

    public ILogger CreateLogger(string categoryName) => new Logger(this);

    public void Dispose()
    {
    }

    private sealed class Logger(WarningCollector owner) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => logLevel >= LogLevel.Warning;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (IsEnabled(logLevel))
            {
                owner._warnings.Enqueue(eventId);
            }
        }
    }
}
