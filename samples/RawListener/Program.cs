// Two Kestrel listeners serving the same /echo endpoint:
//   - the HTTP port runs the full ASP.NET Core pipeline (middleware, authentication, authorization, rate limiting, any
//     other endpoints), then upgrades;
//   - the raw WibeSocket port (listenOptions.UseWibeSocket()) skips the HTTP stack: it reads the upgrade request itself,
//     routes it to the MapWibeSocket endpoints and runs the connection straight on Kestrel's socket pipe.
//
// Use the raw listener when overhead per connection is what matters: many mostly idle connections (no HttpContext or
// request features kept alive for each) and the shortest path per byte. It has no HTTP middleware at all, so endpoints
// that need authorization or rate limiting are answered 403 there; serve those through the HTTP port.
//
// Run: dotnet run --project samples/RawListener [-- --HttpPort 5080 --RawPort 5081]
// Then connect a WebSocket client to ws://127.0.0.1:5081/echo (raw) or ws://127.0.0.1:5080/echo (HTTP).
using System.Net;
using Shockwave;

var builder = WebApplication.CreateBuilder(args);

// Ports from configuration (appsettings, environment, or --HttpPort/--RawPort on the command line).
int httpPort = builder.Configuration.GetValue("HttpPort", 5080);
int rawPort = builder.Configuration.GetValue("RawPort", 5081);

builder.Services.AddWibeSocket();
builder.WebHost.ConfigureKestrel(kestrel =>
{
    kestrel.Listen(IPAddress.Loopback, httpPort);
    kestrel.Listen(IPAddress.Loopback, rawPort, listenOptions => listenOptions.UseWibeSocket());
});

var app = builder.Build();
app.MapGet("/", () => $"Shockwave raw listener sample: ws://127.0.0.1:{rawPort}/echo (raw) or ws://127.0.0.1:{httpPort}/echo (HTTP).");
app.MapWibeSocket("/echo", EchoAsync);
app.Run();

static async Task EchoAsync(WibeSocket socket, CancellationToken cancellationToken)
{
    await foreach (var message in socket.ReadMessagesAsync(cancellationToken))
    {
        await socket.SendAsync(message, cancellationToken);
    }
}

/// <summary>The sample's entry point.</summary>
internal partial class Program;
