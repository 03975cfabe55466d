using System.Collections.Concurrent;
using System.IO.Pipelines;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Shockwave.Protocol;
using Shockwave.Protocol.Compression;

namespace Shockwave.Testing.Tests;

/// <summary>
/// One in-process app for every test: an outer middleware, routing, and endpoints that upgrade by hand through
/// IHttpUpgradeFeature (the real middleware is tested elsewhere).
/// </summary>
public sealed class TestApp : IAsyncLifetime
{
    private WebApplication? _app;

    /// <summary>Signals endpoints raise for tests, keyed by the request's <c>id</c> query value.</summary>
    public ConcurrentDictionary<string, TaskCompletionSource<string>> Signals { get; } = new();

    public TestServer Server => (TestServer)_app!.Services.GetRequiredService<Microsoft.AspNetCore.Hosting.Server.IServer>();

    public TaskCompletionSource<string> Signal(string id) =>
        Signals.GetOrAdd(id, _ => new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously));

    public async Task InitializeAsync()
    {
        var builder = WebApplication.CreateBuilder();
        builder.WebHost.UseTestServer();
        builder.Logging.ClearProviders();
        var app = builder.Build();

        // Headers set outside the endpoint must reach the client on every answer, 101 included.
        app.Use((context, next) =>
        {
            context.Response.Headers["X-Outer"] = "outer-middleware";
            return next(context);
        });
        app.UseRouting();

        app.Map("/echo", async context =>
        {
            await using var stream = await MiniWebSocketServer.AcceptAsync(context);
            if (stream is not null)
            {
                await MiniWebSocketServer.EchoAsync(stream, context.RequestAborted);
            }
        });

        app.Map("/inspect", async context =>
        {
            var request = context.Request;
            var report = new Dictionary<string, string?>
            {
                ["Method"] = request.Method,
                ["Protocol"] = request.Protocol,
                ["Scheme"] = request.Scheme,
                ["Host"] = request.Headers.Host,
                ["PathBase"] = request.PathBase,
                ["Path"] = request.Path,
                ["Query"] = request.QueryString.Value,
                ["Connection"] = request.Headers.Connection,
                ["Upgrade"] = request.Headers.Upgrade,
                ["Key"] = request.Headers.SecWebSocketKey,
                ["Version"] = request.Headers.SecWebSocketVersion,
                ["Protocols"] = request.Headers.SecWebSocketProtocol,
                ["Extensions"] = request.Headers.SecWebSocketExtensions,
                ["Origin"] = request.Headers.Origin,
                ["Custom"] = request.Headers["X-Custom"],
                ["User"] = context.User.Identity?.Name,
            };
            await using var stream = await MiniWebSocketServer.AcceptAsync(context);
            if (stream is not null)
            {
                await MiniWebSocketServer.WriteFrameAsync(stream, WebSocketOpcode.Text, JsonSerializer.SerializeToUtf8Bytes(report));
                await MiniWebSocketServer.EchoAsync(stream, context.RequestAborted);
            }
        });

        app.Map("/forbidden", async context =>
        {
            context.Response.StatusCode = StatusCodes.Status403Forbidden;
            context.Response.Headers["X-Reason"] = "origin";
            await context.Response.WriteAsync("no entry");
        });

        app.Map("/subprotocol", async context =>
        {
            // The server prefers "b"; a "pick" query value overrides the choice, offered or not.
            string? selected = context.Request.Query["pick"];
            selected ??= Shockwave.Protocol.Handshake.SubProtocols.Select(context.Request.Headers.SecWebSocketProtocol.ToString(), ["b", "a"]);
            await using var stream = await MiniWebSocketServer.AcceptAsync(context, subProtocol: selected);
            if (stream is not null)
            {
                await MiniWebSocketServer.EchoAsync(stream, context.RequestAborted);
            }
        });

        app.Map("/bad-accept", async context =>
        {
            await using var stream = await MiniWebSocketServer.AcceptAsync(context, acceptOverride: "dGhlIHNhbXBsZSBub25jZQ==");
            try
            {
                await MiniWebSocketServer.EchoAsync(stream!, context.RequestAborted);
                Signal(context.Request.Query["id"]!).TrySetResult("ended");
            }
            catch (OperationCanceledException)
            {
                Signal(context.Request.Query["id"]!).TrySetResult("aborted");
            }
        });

        app.Map("/fake-101", context =>
        {
            // A 101 without the upgrade: nothing to talk to.
            context.Response.StatusCode = StatusCodes.Status101SwitchingProtocols;
            return Task.CompletedTask;
        });

        app.Map("/throw-before", _ => throw new InvalidOperationException("refused by throwing"));

        app.Map("/throw-after-upgrade", async context =>
        {
            var stream = await MiniWebSocketServer.AcceptAsync(context);
            await MiniWebSocketServer.WriteFrameAsync(stream!, WebSocketOpcode.Text, "about to fail"u8.ToArray());
            throw new InvalidOperationException("failed after the 101");
        });

        app.Map("/hang", async context =>
        {
            // Never answers; reports when the client gives up on it.
            var aborted = Signal(context.Request.Query["id"]!);
            try
            {
                await Task.Delay(Timeout.Infinite, context.RequestAborted);
            }
            catch (OperationCanceledException)
            {
                aborted.TrySetResult("aborted");
            }
        });

        app.Map("/wait-abort", async context =>
        {
            var aborted = Signal(context.Request.Query["id"]!);
            await using var stream = await MiniWebSocketServer.AcceptAsync(context);
            try
            {
                await Task.Delay(Timeout.Infinite, context.RequestAborted);
            }
            catch (OperationCanceledException)
            {
                // After the abort the app's reads must end too, as on a dropped socket.
                int read = await stream!.ReadAsync(new byte[16]).AsTask().WaitAsync(TimeSpan.FromSeconds(5));
                aborted.TrySetResult($"aborted, read {read}");
            }
        });

        app.Map("/after-upgrade", async context =>
        {
            var upgrade = context.Features.Get<IHttpUpgradeFeature>()!;
            await using var stream = await MiniWebSocketServer.AcceptAsync(context);
            string bodyWrite = await Outcome(() => context.Response.WriteAsync("late body"));
            string writerFlush = await Outcome(async () => await context.Response.BodyWriter.FlushAsync());
            string secondUpgrade = await Outcome(upgrade.UpgradeAsync);
            string report = $"{bodyWrite}|{writerFlush}|{secondUpgrade}|{context.Response.Headers.Connection}";
            await MiniWebSocketServer.WriteFrameAsync(stream!, WebSocketOpcode.Text, Encoding.UTF8.GetBytes(report));
            await MiniWebSocketServer.EchoAsync(stream!, context.RequestAborted);
        });

        app.Map("/server-frames", async context =>
        {
            string kind = context.Request.Query["kind"]!;
            string? extensions = kind == "rsv1" ? "permessage-deflate" : null;
            await using var stream = await MiniWebSocketServer.AcceptAsync(context, extensions: extensions);
            var input = PipeReader.Create(stream!);
            switch (kind)
            {
                case "masked":
                    await MiniWebSocketServer.WriteFrameAsync(stream!, WebSocketOpcode.Text, "masked"u8.ToArray(), maskKey: 0x04030201);
                    break;
                case "bad-utf8":
                    await MiniWebSocketServer.WriteFrameAsync(stream!, WebSocketOpcode.Text, new byte[] { 0x68, 0xC0, 0xAF });
                    break;
                case "rsv1":
                    await MiniWebSocketServer.WriteFrameAsync(stream!, WebSocketOpcode.Binary, new byte[] { 0xF2, 0x48, 0x05, 0x00 }, rsv1: true);
                    break;
                case "fragmented":
                    await MiniWebSocketServer.WriteFrameAsync(stream!, WebSocketOpcode.Text, "frag"u8.ToArray(), fin: false);
                    await MiniWebSocketServer.WriteFrameAsync(stream!, WebSocketOpcode.Ping, "in-between"u8.ToArray());
                    await MiniWebSocketServer.WriteFrameAsync(stream!, WebSocketOpcode.Continuation, "men"u8.ToArray(), fin: false);
                    await MiniWebSocketServer.WriteFrameAsync(stream!, WebSocketOpcode.Continuation, "ted"u8.ToArray(), fin: true);
                    break;
                case "ping":
                    await MiniWebSocketServer.WriteFrameAsync(stream!, WebSocketOpcode.Ping, "heartbeat"u8.ToArray());
                    var pong = await MiniWebSocketServer.ReadFrameAsync(input, context.RequestAborted);
                    string answer = pong is { } p ? $"{p.Opcode}:{Encoding.UTF8.GetString(p.Payload)}" : "eof";
                    await MiniWebSocketServer.WriteFrameAsync(stream!, WebSocketOpcode.Text, Encoding.UTF8.GetBytes(answer));
                    break;
                case "close-other":
                    // Answers the client's close with another code, so a test can tell whose close it reports.
                    while (await MiniWebSocketServer.ReadFrameAsync(input, context.RequestAborted) is { } clientFrame && clientFrame.Opcode != WebSocketOpcode.Close)
                    {
                    }

                    byte[] other = new byte[125];
                    int otherLength = ClosePayload.Write(other, (WebSocketCloseStatus)4002, "other");
                    await MiniWebSocketServer.WriteFrameAsync(stream!, WebSocketOpcode.Close, other.AsMemory(0, otherLength));
                    return;
                case "close-first":
                    byte[] close = new byte[125];
                    int length = ClosePayload.Write(close, (WebSocketCloseStatus)4000, "bye");
                    await MiniWebSocketServer.WriteFrameAsync(stream!, WebSocketOpcode.Close, close.AsMemory(0, length));
                    var reply = await MiniWebSocketServer.ReadFrameAsync(input, context.RequestAborted);
                    Signal(context.Request.Query["id"]!).TrySetResult(reply is { } r ? $"{r.Opcode}:{Convert.ToHexString(r.Payload)}" : "eof");
                    return;
                case "slow":
                    // A frame whose payload arrives in two parts, the second only when the client asks for it.
                    byte[] frame = [0x81, 0x06, (byte)'h', (byte)'a', (byte)'l', (byte)'v', (byte)'e', (byte)'s'];
                    await stream!.WriteAsync(frame.AsMemory(0, 5));
                    await stream.FlushAsync();
                    await MiniWebSocketServer.ReadFrameAsync(input, context.RequestAborted);
                    await stream.WriteAsync(frame.AsMemory(5));
                    await stream.FlushAsync();
                    break;
            }

            // Then wait for the client to finish, and report how (with an id): its close code, or "eof".
            (WebSocketOpcode Opcode, byte[] Payload)? last;
            while ((last = await MiniWebSocketServer.ReadFrameAsync(input, context.RequestAborted)) is { } next && next.Opcode != WebSocketOpcode.Close)
            {
            }

            if (context.Request.Query["id"] is [{ } waitId])
            {
                string end = last is { } closeFrame ? $"Close:{(ushort)ClosePayload.Parse(new System.Buffers.ReadOnlySequence<byte>(closeFrame.Payload)).Status}" : "eof";
                Signal(waitId).TrySetResult(end);
            }
        });

        app.Map("/echo-deflate", async context =>
        {
            // permessage-deflate as the server negotiates it; "answer" replaces the 101's extensions to test the client's checks.
            var negotiation = new PerMessageDeflateNegotiator(new PerMessageDeflateOptions { Enabled = true })
                .Negotiate(context.Request.Headers.SecWebSocketExtensions.ToString());
            string? answer = context.Request.Query["answer"];
            await using var stream = await MiniWebSocketServer.AcceptAsync(context, extensions: answer ?? negotiation.ResponseHeaderValue);
            if (stream is not null)
            {
                await MiniWebSocketServer.EchoAsync(stream, negotiation.IsAccepted ? negotiation.Parameters : null, context.RequestAborted);
            }
        });

        await app.StartAsync();
        _app = app;
    }

    public async Task DisposeAsync()
    {
        if (_app is not null)
        {
            await _app.DisposeAsync();
        }
    }

    private static async Task<string> Outcome(Func<Task> action)
    {
        try
        {
            await action();
            return "ok";
        }
        catch (Exception ex)
        {
            return ex.GetType().Name;
        }
    }
}

[CollectionDefinition(Name)]
public sealed class TestAppCollection : ICollectionFixture<TestApp>
{
    public const string Name = "TestApp";
}
