// End-to-end benchmark server: the same /echo and /broadcast endpoints served by Shockwave (MapWibeSocket over HTTP,
// or the raw Kestrel listener) or by the stock ASP.NET Core stack (UseWebSockets + efficient ManagedWebSocket loops),
// in one host so that everything but the WebSocket stack is equal. A second HTTP port serves /stats for the load
// generator: allocated bytes (for bytes per message), GC heap and working set (for memory per idle connection).
// /broadcast sends every message to every other /broadcast connection; it never negotiates compression.
//
//   Shockwave.LoadServer --stack shockwave|stock [--deflate] [--codec auto|runtime|systemzlib] [--raw-listener]
//                        [--port 9300] [--stats-port 9399] [--redis host:port]
//                        [--no-wait-for-data] [--io-queues N] [--inline-scheduling] [--transport sockets|shockwave]
// --transport shockwave serves every port through the Shockwave transport (UseShockwaveTransport, src/Transport) instead
// of Kestrel's sockets; either stack can run on it. The three before it are Kestrel's socket transport knobs (SocketTransportOptions), the same for both stacks; run-knobs.sh
// measures them. --inline-scheduling is meant with DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS=1 in the environment.
// --redis puts /broadcast on the Redis backplane (bench/run-scaleout.sh runs two such servers).
using System.Buffers;
using System.Globalization;
using System.Net;
using System.Net.WebSockets;
using Shockwave;
using Shockwave.LoadServer;
using Shockwave.Protocol.Compression;

string stack = "shockwave";
string? redis = null;
bool noWaitForData = false, inlineScheduling = false, shockwaveTransport = false;
int? ioQueues = null;
bool deflate = false, raw = false;
PerMessageDeflateCodec? codec = null; // the library's default unless --codec says otherwise
int port = 9300, statsPort = 9399;
for (int i = 0; i < args.Length; i++)
{
    switch (args[i])
    {
        case "--stack": stack = args[++i]; break;
        case "--deflate": deflate = true; break;
        case "--codec": codec = Enum.Parse<PerMessageDeflateCodec>(args[++i], ignoreCase: true); break;
        case "--raw-listener": raw = true; break;
        case "--port": port = int.Parse(args[++i], CultureInfo.InvariantCulture); break;
        case "--stats-port": statsPort = int.Parse(args[++i], CultureInfo.InvariantCulture); break;
        case "--redis": redis = args[++i]; break;
        case "--no-wait-for-data": noWaitForData = true; break;
        case "--io-queues": ioQueues = int.Parse(args[++i], CultureInfo.InvariantCulture); break;
        case "--inline-scheduling": inlineScheduling = true; break;
        case "--transport": shockwaveTransport = args[++i] switch { "shockwave" => true, "sockets" => false, var other => throw new ArgumentException($"unknown transport {other}") }; break;
        default:
            Console.Error.WriteLine("usage: Shockwave.LoadServer --stack shockwave|stock [--deflate] [--codec auto|runtime|systemzlib] [--raw-listener] [--port N] [--stats-port N] [--redis host:port] [--no-wait-for-data] [--io-queues N] [--inline-scheduling] [--transport sockets|shockwave]");
            return 2;
    }
}
if (stack is not ("shockwave" or "stock") || (raw && stack != "shockwave") || (redis is not null && stack != "shockwave"))
{
    Console.Error.WriteLine("--stack must be shockwave or stock; --raw-listener needs --stack shockwave");
    return 2;
}

var builder = WebApplication.CreateSlimBuilder();
builder.Logging.ClearProviders();
builder.WebHost.UseSockets(sockets =>
{
    sockets.WaitForDataBeforeAllocatingBuffer = !noWaitForData;
    sockets.UnsafePreferInlineScheduling = inlineScheduling;
    if (ioQueues is { } queues)
    {
        sockets.IOQueueCount = queues;
    }
});
if (shockwaveTransport)
{
    builder.WebHost.UseShockwaveTransport();
}
builder.WebHost.ConfigureKestrel(kestrel =>
{
    kestrel.AddServerHeader = false;
    kestrel.Limits.MaxConcurrentConnections = null;
    kestrel.Limits.MaxConcurrentUpgradedConnections = null;
    if (raw)
    {
        kestrel.Listen(IPAddress.Loopback, port, listenOptions => listenOptions.UseWibeSocket());
    }
    else
    {
        kestrel.Listen(IPAddress.Loopback, port);
    }
    kestrel.Listen(IPAddress.Loopback, statsPort);
});

if (stack == "shockwave")
{
    var wibeSocket = builder.Services.AddWibeSocket();
    if (redis is not null)
    {
        wibeSocket.AddRedisBackplane(redis, options => options.ChannelPrefix = "bench");
    }
}

var app = builder.Build();

if (stack == "shockwave")
{
    app.MapWibeSocket("/echo", ShockwaveEchoAsync, options =>
    {
        options.Compression.Enabled = deflate;
        if (codec is { } chosen)
        {
            options.Compression.Codec = chosen;
        }
    });

    // As samples/Echo: every message to every other /broadcast connection through the library's broadcast API, framed
    // once, each recipient within its send budget (the default 1 MiB and slow-consumer policy).
    app.MapWibeSocket("/broadcast", static async (socket, cancellationToken) =>
    {
        var clients = socket.Clients;
        string[] self = [socket.ConnectionId];
        await foreach (var message in socket.ReadMessagesAsync(cancellationToken))
        {
            using var prepared = WibeSocketPreparedMessage.Create(message);
            await clients.SendToAllExceptAsync(prepared, self, cancellationToken);
        }
    });
}
else
{
    // Keep-alive as the stock default (2 minutes): longer than any run, so it sends nothing during one.
    app.UseWebSockets(new WebSocketOptions { KeepAliveInterval = TimeSpan.FromMinutes(2) });
    var accept = new WebSocketAcceptContext { DangerousEnableCompression = deflate, DisableServerContextTakeover = false, ServerMaxWindowBits = 15 };
    app.Map("/echo", async (HttpContext context) =>
    {
        if (!context.WebSockets.IsWebSocketRequest)
        {
            context.Response.StatusCode = StatusCodes.Status400BadRequest;
            return;
        }
        using var socket = await context.WebSockets.AcceptWebSocketAsync(accept);
        await StockEchoAsync(socket, context.RequestAborted);
    });

    var broadcast = new StockBroadcast();
    app.Map("/broadcast", async (HttpContext context) =>
    {
        if (!context.WebSockets.IsWebSocketRequest)
        {
            context.Response.StatusCode = StatusCodes.Status400BadRequest;
            return;
        }
        using var socket = await context.WebSockets.AcceptWebSocketAsync();
        await broadcast.RunAsync(socket, context.RequestAborted);
    });
}

// ?gc=1 first runs a full blocking, compacting collection, so the heap figure is live objects only.
app.MapGet("/stats", (HttpContext context) =>
{
    if (context.Request.Query.ContainsKey("gc"))
    {
        GC.Collect(2, GCCollectionMode.Forced, blocking: true, compacting: true);
        GC.WaitForPendingFinalizers();
        GC.Collect(2, GCCollectionMode.Forced, blocking: true, compacting: true);
    }
    var info = GC.GetGCMemoryInfo(GCKind.Any);
    return string.Create(CultureInfo.InvariantCulture,
        $"{{\"pid\":{Environment.ProcessId},\"allocatedBytes\":{GC.GetTotalAllocatedBytes(precise: true)},\"gcHeapBytes\":{GC.GetTotalMemory(forceFullCollection: false)},\"gcHeapSizeBytes\":{info.HeapSizeBytes},\"gcCommittedBytes\":{info.TotalCommittedBytes},\"workingSetBytes\":{Environment.WorkingSet},\"gcCount\":{GC.CollectionCount(0)}}}\n");
});

Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
    $"load server: stack={stack} raw={raw} redis={redis ?? "none"} waitForData={!noWaitForData} ioQueues={ioQueues?.ToString(CultureInfo.InvariantCulture) ?? "default"} inline={inlineScheduling} transport={(shockwaveTransport ? "shockwave" : "sockets")} deflate={deflate} codec={codec?.ToString() ?? "default"} port={port} stats={statsPort} serverGC={System.Runtime.GCSettings.IsServerGC} cpus={Environment.ProcessorCount} pid={Environment.ProcessId}"));
app.Run();
return 0;

static async Task ShockwaveEchoAsync(WibeSocket socket, CancellationToken cancellationToken)
{
    await foreach (var message in socket.ReadMessagesAsync(cancellationToken))
    {
        await socket.SendAsync(message, cancellationToken);
    }
}

// The stock stack written the efficient way: one pooled 16 KiB buffer per connection, Memory-based receive
// (ValueWebSocketReceiveResult, no allocation per message), larger messages echoed fragment by fragment.
static async Task StockEchoAsync(WebSocket socket, CancellationToken cancellationToken)
{
    const int BufferSize = 16 * 1024;
    byte[] rented = ArrayPool<byte>.Shared.Rent(BufferSize);
    try
    {
        Memory<byte> buffer = rented.AsMemory(0, BufferSize);
        while (true)
        {
            ValueWebSocketReceiveResult result = await socket.ReceiveAsync(buffer, cancellationToken);
            if (result.MessageType == WebSocketMessageType.Close)
            {
                if (socket.State == WebSocketState.CloseReceived)
                {
                    await socket.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, null, cancellationToken);
                }
                return;
            }
            await socket.SendAsync(buffer[..result.Count], result.MessageType, result.EndOfMessage, cancellationToken);
        }
    }
    catch (WebSocketException)
    {
        // The peer went away without a close handshake: normal at the end of a load run.
    }
    catch (OperationCanceledException)
    {
    }
    catch (IOException)
    {
    }
    finally
    {
        ArrayPool<byte>.Shared.Return(rented);
    }
}
