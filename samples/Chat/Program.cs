// A chat backend built the way an ASP.NET Core app is: sign-in with a display name issues a cookie, the hub at /chat
// requires authorization (so the library's origin policy refuses cross-origin pages with 403), rooms are groups,
// presence and the last 50 messages of a room come on join, and direct messages reach every tab of a user. The page at
// / is plain HTML, CSS and JavaScript (wwwroot). The protocol is in docs/chat-protocol.md. Nothing is logged per
// connection or message at the configured levels; SIGTERM drains connections with 1012, which the page reconnects from.
// With ConnectionStrings:Redis set, every node on that Redis serves one chat (rooms, presence, history, direct messages).
using Microsoft.AspNetCore.Authentication.Cookies;
using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using Shockwave;
using Shockwave.Samples.Chat;

var builder = WebApplication.CreateBuilder(args);

builder.Services.AddWibeSocket(options =>
{
    // Up to 64 KiB a message is read and, past the protocol's 16 KiB, answered with a "too-large" error; beyond 64 KiB
    // the library closes with 1009 before the hub sees a byte.
    options.MaxMessageSize = ChatProtocol.MaxFrameBytes;
    // Explicit too: once any "WibeSocket" setting is bound from configuration, the frame limit no longer follows.
    options.MaxFramePayloadLength = ChatProtocol.MaxFrameBytes;
    // A person types a few messages a second; a script sending more is slowed down by TCP back-pressure.
    options.InboundRateLimit.MessagesPerSecond = 20;
    // Presence and room messages go to many connections: one compressed frame for all (docs/chat-backend.md).
    options.Compression.Enabled = true;
    options.Compression.ServerNoContextTakeover = true;
})
    // History and presence: in memory on one node; with ConnectionStrings:Redis, the Redis backplane and Redis-backed
    // history and presence shared by every node (docs/chat-protocol.md, "Two nodes").
    .AddChat(builder.Configuration);

// Readiness turns unhealthy the moment a drain starts; liveness watches the connection heartbeat.
builder.Services.AddHealthChecks().AddWibeSocket();

builder.Services.AddAuthentication(CookieAuthenticationDefaults.AuthenticationScheme)
    .AddCookie(options =>
    {
        options.Cookie.Name = "chat.auth";
        options.Cookie.HttpOnly = true;
        // Secure over https, and still usable over plain http on 127.0.0.1 in Production.
        options.Cookie.SecurePolicy = CookieSecurePolicy.SameAsRequest;
        options.Cookie.SameSite = SameSiteMode.Strict;
        options.ExpireTimeSpan = TimeSpan.FromDays(7);
        options.SlidingExpiration = true;
        // An API and a WebSocket endpoint answer 401/403; there is no login page to redirect to.
        options.Events.OnRedirectToLogin = context =>
        {
            context.Response.StatusCode = StatusCodes.Status401Unauthorized;
            return Task.CompletedTask;
        };
        options.Events.OnRedirectToAccessDenied = context =>
        {
            context.Response.StatusCode = StatusCodes.Status403Forbidden;
            return Task.CompletedTask;
        };
    });
builder.Services.AddAuthorization();

builder.Services.AddChatTelemetry(builder.Configuration);

var app = builder.Build();
app.UseDefaultFiles();
app.UseStaticFiles();
app.UseAuthentication();
app.UseAuthorization();

app.MapChatSignIn();
app.MapHealthChecks("/health/ready", new HealthCheckOptions { Predicate = check => check.Tags.Contains(WibeSocketHealthChecksBuilderExtensions.ReadyTag) });
app.MapHealthChecks("/health/live", new HealthCheckOptions { Predicate = check => check.Tags.Contains(WibeSocketHealthChecksBuilderExtensions.LiveTag) });
app.MapWibeSocket<ChatHub>("/chat").RequireAuthorization();
app.Run();

/// <summary>The sample's entry point, visible to <c>WebApplicationFactory</c>.</summary>
public partial class Program;
