// The conformance target (docs/design.md): /echo echoes every message unchanged, /echo-deflate does the same with
// permessage-deflate accepted for any legal offer, and /broadcast relays every message, unchanged and in order, to
// every other /broadcast connection through the library's broadcast API (framed once, each recipient within its send
// budget). Any Origin is accepted, the peer's close code is echoed, and nothing is logged per message at the default
// level. It drains on shutdown as shipped: SIGTERM closes connections with 1012 spread over 20 seconds.
// With the connection string ConnectionStrings:Redis (environment ConnectionStrings__Redis) set, /broadcast spans every
// Echo process on that Redis (docs/scale-out.md); without it, this process only.
// It runs on the Shockwave transport (src/Transport, docs/performance.md); --Transport=Sockets (environment
// Transport=Sockets) puts it back on Kestrel's socket transport.
using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using Shockwave;

// The content root is the build output, not the working directory: started from anywhere else (a benchmark, a container
// entrypoint) the sample would miss its appsettings.json and log every request at Information.
var builder = WebApplication.CreateBuilder(new WebApplicationOptions { Args = args, ContentRootPath = AppContext.BaseDirectory });
if (!string.Equals(builder.Configuration["Transport"], "Sockets", StringComparison.OrdinalIgnoreCase))
{
    builder.WebHost.UseShockwaveTransport();
}

var wibeSocket = builder.Services.AddWibeSocket(options =>
{
    // Wide enough for conformance suites: 16 MiB frames and messages, and 4 MiB sent in 64-byte fragments.
    options.MaxFramePayloadLength = 64 * 1024 * 1024;
    options.MaxMessageSize = 64 * 1024 * 1024;
    options.MaxFragmentsPerMessage = 1 << 20;
});
if (builder.Configuration.GetConnectionString("Redis") is { Length: > 0 } redis)
{
    // Adds the wibesocket-backplane check to /health/ready: Degraded (still 200) while Redis is unreachable.
    wibeSocket.AddRedisBackplane(redis, options => options.ChannelPrefix = "echo");
}

// Readiness turns unhealthy the moment a drain starts (SIGTERM); liveness watches the connection heartbeat.
builder.Services.AddHealthChecks().AddWibeSocket();

var app = builder.Build();
app.MapGet("/", () => "Shockwave echo sample: connect a WebSocket to /echo, /echo-deflate or /broadcast.");
app.MapHealthChecks("/health/ready", new HealthCheckOptions { Predicate = check => check.Tags.Contains(WibeSocketHealthChecksBuilderExtensions.ReadyTag) });
app.MapHealthChecks("/health/live", new HealthCheckOptions { Predicate = check => check.Tags.Contains(WibeSocketHealthChecksBuilderExtensions.LiveTag) });
app.MapWibeSocket("/echo", EchoAsync);
app.MapWibeSocket("/echo-deflate", EchoAsync, options => options.Compression.Enabled = true);

// The library's default send budget (1 MiB) and slow-consumer policy (close with 1013), as shipped.
app.MapWibeSocket("/broadcast", BroadcastAsync);
app.Run();

static async Task EchoAsync(WibeSocket socket, CancellationToken cancellationToken)
{
    await foreach (var message in socket.ReadMessagesAsync(cancellationToken))
    {
        await socket.SendAsync(message, cancellationToken);
    }
}

static async Task BroadcastAsync(WibeSocket socket, CancellationToken cancellationToken)
{
    var clients = socket.Clients;
    string[] self = [socket.ConnectionId];
    await foreach (var message in socket.ReadMessagesAsync(cancellationToken))
    {
        using var prepared = WibeSocketPreparedMessage.Create(message);
        await clients.SendToAllExceptAsync(prepared, self, cancellationToken);
    }
}

/// <summary>The sample's entry point, visible to <c>WebApplicationFactory</c>.</summary>
public partial class Program;
