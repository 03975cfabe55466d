using System.Diagnostics.Metrics;
using System.IO.Pipelines;
using Microsoft.Extensions.Logging.Abstractions;
using Shockwave.Diagnostics;
using Shockwave.Protocol;
using Shockwave.Protocol.Compression;
using Shockwave.Tests.Shared;

namespace Shockwave.Runtime.Tests.Support;

/// <summary>
/// One runtime connection under test, in the given role, over in-memory pipes, on a manual clock. Its peer is either a
/// <see cref="RawPeer"/> (frame-level control) or another runtime in the opposite role (<see cref="StartPair"/>).
/// </summary>
internal sealed class RuntimeHarness : IAsyncDisposable
{
    private readonly Pipe _toRuntime = new();
    private readonly Pipe _fromRuntime = new();

    private RuntimeHarness(WebSocketRole role, ManualTimeProvider time)
    {
        Role = role;
        Time = time;
        Heartbeat = new ConnectionHeartbeat(time);
        Runtime = new WibeSocketRuntime(NullLoggerFactory.Instance, new WibeSocketMetrics(new TestMeterFactory()), time, Heartbeat);
        Peer = new RawPeer(_fromRuntime.Reader, _toRuntime.Writer, Opposite(role));
    }

    public WebSocketRole Role { get; }

    public ManualTimeProvider Time { get; }

    public ConnectionHeartbeat Heartbeat { get; }

    public WibeSocketRuntime Runtime { get; }

    public RawPeer Peer { get; }

    /// <summary>The socket the handler was given, once it runs.</summary>
    public WibeSocket Socket => SocketReady.Task.Result;

    public TaskCompletionSource<WibeSocket> SocketReady { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public Task Run { get; private set; } = Task.CompletedTask;

    public static WebSocketRole Opposite(WebSocketRole role) => role == WebSocketRole.Server ? WebSocketRole.Client : WebSocketRole.Server;

    public static ConnectionLimits Limits(long maxMessageSize = 1 << 20, TimeSpan? keepAlive = null, TimeSpan? keepAliveTimeout = null, int maxFragments = 128) => new()
    {
        Reader = new FrameReaderOptions { MaxFramePayloadLength = maxMessageSize, MaxMessageSize = maxMessageSize, MaxFragmentsPerMessage = maxFragments },
        CompressedReader = new FrameReaderOptions { MaxFramePayloadLength = maxMessageSize, MaxMessageSize = maxMessageSize, MaxFragmentsPerMessage = maxFragments, AllowCompressedMessages = true },
        MaxMessageSize = maxMessageSize,
        MaxReadAheadBytes = 1 << 20,
        KeepAliveInterval = keepAlive ?? TimeSpan.Zero,
        KeepAliveTimeout = keepAliveTimeout ?? TimeSpan.FromSeconds(20),
        CloseTimeout = TimeSpan.FromSeconds(5),
    };

    /// <summary>Starts a runtime in <paramref name="role"/> facing a raw peer.</summary>
    public static RuntimeHarness Start(
        WebSocketRole role,
        Func<WibeSocket, CancellationToken, Task> handler,
        ConnectionLimits? limits = null,
        PerMessageDeflateParameters? compression = null,
        ManualTimeProvider? time = null)
    {
        var harness = new RuntimeHarness(role, time ?? new ManualTimeProvider());
        harness.Run = WibeSocketConnection.RunAsync(harness.Setup(new DuplexPipe(harness._toRuntime.Reader, harness._fromRuntime.Writer), role, limits, compression), async (socket, ct) =>
        {
            harness.SocketReady.TrySetResult(socket);
            await handler(socket, ct);
        });
        return harness;
    }

    /// <summary>Starts a client-role and a server-role runtime talking to each other over pipes.</summary>
    public static (Task Client, Task Server) StartPair(
        Func<WibeSocket, CancellationToken, Task> client,
        Func<WibeSocket, CancellationToken, Task> server,
        PerMessageDeflateParameters? compression = null)
    {
        var clientToServer = new Pipe();
        var serverToClient = new Pipe();
        var clientHarness = new RuntimeHarness(WebSocketRole.Client, new ManualTimeProvider());
        var serverHarness = new RuntimeHarness(WebSocketRole.Server, clientHarness.Time);
        var serverTask = WibeSocketConnection.RunAsync(serverHarness.Setup(new DuplexPipe(clientToServer.Reader, serverToClient.Writer), WebSocketRole.Server, null, compression), server);
        var clientTask = WibeSocketConnection.RunAsync(clientHarness.Setup(new DuplexPipe(serverToClient.Reader, clientToServer.Writer), WebSocketRole.Client, null, compression), client);
        return (clientTask, serverTask);
    }

    /// <summary>Moves the clock and runs a heartbeat tick, as the shared timer would.</summary>
    public void Advance(TimeSpan by)
    {
        Time.Advance(by);
        Heartbeat.Tick();
    }

    public async ValueTask DisposeAsync()
    {
        await _toRuntime.Writer.CompleteAsync();
        await Run.WaitAsync(TimeSpan.FromSeconds(10));
        Heartbeat.Dispose();
    }

    private ConnectionSetup Setup(IDuplexPipe transport, WebSocketRole role, ConnectionLimits? limits, PerMessageDeflateParameters? compression) => new()
    {
        Transport = transport,
        ConnectionId = role.ToString(),
        Limits = limits ?? Limits(),
        Runtime = Runtime,
        Role = role,
        TransportName = "test-pipe",
        Compression = compression,
        CompressionOptions = compression is null ? null : new PerMessageDeflateOptions { Enabled = true },
        OwnsTransport = true,
    };


    private sealed class TestMeterFactory : IMeterFactory
    {
        public Meter Create(MeterOptions options) => new(options);

        public void Dispose()
        {
        }
    }
}
