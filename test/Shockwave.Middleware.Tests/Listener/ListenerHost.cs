using System.Collections.Concurrent;
using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Shockwave.Protocol;

namespace Shockwave.Middleware.Tests.Listener;

/// <summary>
/// A real Kestrel on 127.0.0.1 with two listen endpoints on ports the OS picks: an ordinary HTTP one and a raw
/// WibeSocket one (<c>UseWibeSocket()</c>). Both ports are read back from their <see cref="ListenOptions"/> after binding.
/// </summary>
internal sealed class ListenerHost : IAsyncDisposable
{
    /// <summary>The bound on every await in these tests.</summary>
    public static readonly TimeSpan Timeout = TimeSpan.FromSeconds(10);

    private ListenerHost(WebApplication app, int rawPort, int httpPort, ListenerLogSink logs)
    {
        App = app;
        RawPort = rawPort;
        HttpPort = httpPort;
        Logs = logs;
    }

    public WebApplication App { get; }

    public int RawPort { get; }

    public int HttpPort { get; }

    public ListenerLogSink Logs { get; }

    public IServiceProvider Services => App.Services;

    /// <summary>Starts a host; <paramref name="map"/> maps its endpoints, <paramref name="services"/> adds services (AddWibeSocket included by default).</summary>
    public static async Task<ListenerHost> StartAsync(Action<WebApplication> map, Action<WibeSocketOptions>? options = null, Action<IServiceCollection>? services = null, bool addWibeSocket = true)
    {
        var builder = WebApplication.CreateSlimBuilder();
        var logs = new ListenerLogSink();
        builder.Logging.ClearProviders();
        builder.Logging.AddProvider(logs);
        builder.Logging.SetMinimumLevel(LogLevel.Debug);

        // A provider rule beats the category levels an appsettings.json in the output folder may set.
        builder.Logging.AddFilter<ListenerLogSink>(null, LogLevel.Debug);
        services?.Invoke(builder.Services);
        if (addWibeSocket)
        {
            // Fixtures stop at once, as before the drain existed.
            builder.Services.Configure<WibeSocketOptions>(o => o.Drain.Enabled = false);
            builder.Services.AddWibeSocket(options);
        }

        ListenOptions? raw = null;
        ListenOptions? http = null;
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            kestrel.Listen(IPAddress.Loopback, 0, lo => http = lo);
            kestrel.Listen(IPAddress.Loopback, 0, lo =>
            {
                raw = lo;
                lo.UseWibeSocket();
            });
        });

        var app = builder.Build();
        map(app);
        try
        {
            using var timeout = new CancellationTokenSource(Timeout);
            await app.StartAsync(timeout.Token);
        }
        catch
        {
            await app.DisposeAsync();
            throw;
        }

        return new ListenerHost(app, raw!.IPEndPoint!.Port, http!.IPEndPoint!.Port, logs);
    }

    /// <summary>Echoes every message, as samples/Echo does.</summary>
    public static async Task EchoAsync(WibeSocket socket, CancellationToken cancellationToken)
    {
        await foreach (var message in socket.ReadMessagesAsync(cancellationToken))
        {
            await socket.SendAsync(message, cancellationToken);
        }
    }

    public Task<ListenerClient> ConnectRawAsync() => ListenerClient.ConnectAsync(RawPort);

    /// <summary>Connects, completes the handshake on <paramref name="path"/> and checks the 101.</summary>
    public async Task<ListenerClient> OpenAsync(string path = "/echo")
    {
        var client = await ConnectRawAsync();
        await client.SendAsync(ListenerClient.UpgradeRequest(path));
        var head = await client.ReadResponseHeadAsync();
        Assert.Equal(101, head.StatusCode);
        return client;
    }

    public async ValueTask DisposeAsync()
    {
        using (var timeout = new CancellationTokenSource(Timeout))
        {
            try
            {
                await App.StopAsync(timeout.Token);
            }
            catch (OperationCanceledException)
            {
                // A test left a connection open; disposing aborts it.
            }
        }

        await App.DisposeAsync();
    }
}

/// <summary>Collects log entries (all levels) so tests can assert the debug line a rejection writes.</summary>
internal sealed class ListenerLogSink : ILoggerProvider
{
    private readonly ConcurrentQueue<(EventId EventId, LogLevel Level, string Message)> _entries = new();

    public IReadOnlyCollection<(EventId EventId, LogLevel Level, string Message)> Entries => _entries;

    public ILogger CreateLogger(string categoryName) => new Logger(this);

    public void Dispose()
    {
    }

    private sealed class Logger(ListenerLogSink sink) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
            sink._entries.Enqueue((eventId, logLevel, formatter(state, exception)));
    }
}

/// <summary>A received message or control frame.</summary>
internal readonly record struct ListenerFrame(WebSocketOpcode Opcode, byte[] Payload)
{
    public string Text => System.Text.Encoding.UTF8.GetString(Payload);

    public ushort CloseCode => (ushort)((Payload[0] << 8) | Payload[1]);
}
