using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Shockwave.Protocol;
using Sys = System.Net.WebSockets;

namespace Shockwave.Middleware.Tests.Listener;

/// <summary>Successful handshakes on the raw Kestrel listener (<c>listenOptions.UseWibeSocket()</c>) and the connection after them.</summary>
public class RawListenerHandshakeTests
{
    [Fact]
    public async Task ValidRequest_Answers101AndEchoes()
    {
        await using var host = await ListenerHost.StartAsync(app => app.MapWibeSocket("/echo", ListenerHost.EchoAsync));
        await using var client = await host.ConnectRawAsync();

        await client.SendAsync(ListenerClient.UpgradeRequest());
        var head = await client.ReadResponseHeadAsync();

        // RFC 6455 section 4.2.2: 101 with Upgrade, Connection and the accept value of section 1.3's sample key.
        Assert.Equal(101, head.StatusCode);
        Assert.Equal("websocket", head.Headers.GetFirstValue("Upgrade"));
        Assert.Equal("Upgrade", head.Headers.GetFirstValue("Connection"));
        Assert.Equal(ListenerClient.SampleAccept, head.Headers.GetFirstValue("Sec-WebSocket-Accept"));
        Assert.False(head.Headers.Contains("Sec-WebSocket-Protocol"));
        Assert.False(head.Headers.Contains("Sec-WebSocket-Extensions"));

        await client.SendAsync(ListenerClient.TextFrame("hello"));
        var text = await client.ReceiveAsync();
        Assert.Equal(WebSocketOpcode.Text, text.Opcode);
        Assert.Equal("hello", text.Text);

        byte[] binary = [0, 1, 2, 0xFF];
        await client.SendAsync(ListenerClient.Frame(WebSocketOpcode.Binary, binary));
        var echoed = await client.ReceiveAsync();
        Assert.Equal(WebSocketOpcode.Binary, echoed.Opcode);
        Assert.Equal(binary, echoed.Payload);

        // The close handshake: the server echoes our code, then closes TCP.
        await client.SendAsync(ListenerClient.CloseFrame(WebSocketCloseStatus.NormalClosure));
        var close = await client.ReceiveAsync();
        Assert.Equal(WebSocketOpcode.Close, close.Opcode);
        Assert.Equal(1000, close.CloseCode);
        Assert.Empty(await client.ReadToEndAsync());
    }

    [Fact]
    public async Task FirstFramePipelinedWithRequestHead_IsNotLost()
    {
        await using var host = await ListenerHost.StartAsync(app => app.MapWibeSocket("/echo", ListenerHost.EchoAsync));
        await using var client = await host.ConnectRawAsync();

        // One write: the head and two frames behind it. The listener must consume exactly the head.
        byte[] request = [.. Encoding.ASCII.GetBytes(ListenerClient.UpgradeRequest()), .. ListenerClient.TextFrame("first"), .. ListenerClient.TextFrame("second")];
        await client.SendAsync(request);

        Assert.Equal(101, (await client.ReadResponseHeadAsync()).StatusCode);
        Assert.Equal("first", (await client.ReceiveAsync()).Text);
        Assert.Equal("second", (await client.ReceiveAsync()).Text);
    }

    [Fact]
    public async Task HeadSplitAcrossWrites_IsReassembled()
    {
        await using var host = await ListenerHost.StartAsync(app => app.MapWibeSocket("/echo", ListenerHost.EchoAsync));
        await using var client = await host.ConnectRawAsync();
        byte[] head = Encoding.ASCII.GetBytes(ListenerClient.UpgradeRequest());
        byte[] request = [.. head, .. ListenerClient.TextFrame("after a slow head")];

        // Splits inside the request line, inside a header, between the final CR and LF, and inside the frame behind the head.
        int[] cuts = [3, 30, head.Length - 1, head.Length + 3];
        int start = 0;
        foreach (int cut in cuts)
        {
            await client.SendAsync(request.AsMemory(start, cut - start));
            await Task.Delay(20);
            start = cut;
        }

        await client.SendAsync(request.AsMemory(start));
        Assert.Equal(101, (await client.ReadResponseHeadAsync()).StatusCode);
        Assert.Equal("after a slow head", (await client.ReceiveAsync()).Text);
    }

    [Fact]
    public async Task HeaderTokens_AreMatchedIgnoringCaseWithinLists()
    {
        await using var host = await ListenerHost.StartAsync(app => app.MapWibeSocket("/echo", ListenerHost.EchoAsync));
        await using var client = await host.ConnectRawAsync();

        // R6455-4.2.1-a3 and a4: case-insensitive tokens, Connection as a list; an absolute-form target routes by its path.
        await client.SendAsync(ListenerClient.UpgradeRequest("http://127.0.0.1/echo?x=1", overrides: [("Upgrade", "WebSocket"), ("Connection", "keep-alive, UPGRADE")]));
        Assert.Equal(101, (await client.ReadResponseHeadAsync()).StatusCode);
    }

    [Fact]
    public async Task EndpointOptions_SelectSubprotocol()
    {
        await using var host = await ListenerHost.StartAsync(app => app.MapWibeSocket("/chat", ListenerHost.EchoAsync, o => o.SubProtocols.Add("chat.v2")));
        await using var client = await host.ConnectRawAsync();

        await client.SendAsync(ListenerClient.UpgradeRequest("/chat", overrides: [("Sec-WebSocket-Protocol", "chat.v1, chat.v2")]));
        var head = await client.ReadResponseHeadAsync();

        Assert.Equal(101, head.StatusCode);
        Assert.Equal("chat.v2", head.Headers.GetFirstValue("Sec-WebSocket-Protocol"));
    }

    [Fact]
    public async Task RoutePatterns_LiteralBeatsParameterAndConstraintsApply()
    {
        await using var host = await ListenerHost.StartAsync(app =>
        {
            app.MapWibeSocket("/rooms/{id:int}", (socket, ct) => socket.SendTextAsync("room", ct).AsTask());
            app.MapWibeSocket("/rooms/lobby", (socket, ct) => socket.SendTextAsync("lobby", ct).AsTask());
        });

        foreach (var (path, expected) in new[] { ("/rooms/lobby", "lobby"), ("/rooms/42", "room") })
        {
            await using var client = await host.OpenAsync(path);
            Assert.Equal(expected, (await client.ReceiveAsync()).Text);
        }

        // {id:int} does not match "abc": no endpoint.
        await using var other = await host.ConnectRawAsync();
        await other.SendAsync(ListenerClient.UpgradeRequest("/rooms/abc"));
        Assert.Equal(404, (await other.ReadResponseHeadAsync()).StatusCode);
    }

    [Fact]
    public async Task ClientWebSocket_EchoesThroughRawListener()
    {
        await using var host = await ListenerHost.StartAsync(app => app.MapWibeSocket("/echo", ListenerHost.EchoAsync));
        using var timeout = new CancellationTokenSource(ListenerHost.Timeout);
        using var socket = new Sys.ClientWebSocket();

        await socket.ConnectAsync(new Uri($"ws://127.0.0.1:{host.RawPort}/echo"), timeout.Token);
        var sent = Encoding.UTF8.GetBytes("héllo über raw");
        await socket.SendAsync(sent, Sys.WebSocketMessageType.Text, endOfMessage: true, timeout.Token);

        var buffer = new byte[256];
        var result = await socket.ReceiveAsync(buffer, timeout.Token);
        Assert.Equal(Sys.WebSocketMessageType.Text, result.MessageType);
        Assert.True(result.EndOfMessage);
        Assert.Equal(sent, buffer.AsSpan(0, result.Count).ToArray());

        await socket.CloseAsync(Sys.WebSocketCloseStatus.NormalClosure, "bye", timeout.Token);
        Assert.Equal(Sys.WebSocketCloseStatus.NormalClosure, socket.CloseStatus);
    }

    [Fact]
    public async Task SameEndpoint_IsServedByHttpAndRawListeners()
    {
        await using var host = await ListenerHost.StartAsync(app => app.MapWibeSocket("/echo", ListenerHost.EchoAsync));
        using var timeout = new CancellationTokenSource(ListenerHost.Timeout);

        foreach (int port in new[] { host.HttpPort, host.RawPort })
        {
            using var socket = new Sys.ClientWebSocket();
            await socket.ConnectAsync(new Uri($"ws://127.0.0.1:{port}/echo"), timeout.Token);
            await socket.SendAsync("ping"u8.ToArray(), Sys.WebSocketMessageType.Binary, endOfMessage: true, timeout.Token);
            var buffer = new byte[16];
            var result = await socket.ReceiveAsync(buffer, timeout.Token);
            Assert.Equal("ping"u8.ToArray(), buffer.AsSpan(0, result.Count).ToArray());
            await socket.CloseAsync(Sys.WebSocketCloseStatus.NormalClosure, null, timeout.Token);
        }

        // The runtime names the path it ran on: the raw listener's connection took "raw-listener".
        Assert.Contains(host.Logs.Entries, e => e.EventId.Id == 1 && e.Message.Contains("transport raw-listener", StringComparison.Ordinal));
    }

    [Fact]
    public async Task ServerShutdown_ClosesOpenConnectionWith1001()
    {
        var host = await ListenerHost.StartAsync(app => app.MapWibeSocket("/echo", ListenerHost.EchoAsync));
        await using var client = await host.OpenAsync();
        await client.SendAsync(ListenerClient.TextFrame("up"));
        Assert.Equal("up", (await client.ReceiveAsync()).Text);

        using var timeout = new CancellationTokenSource(ListenerHost.Timeout);
        var stopping = host.App.StopAsync(timeout.Token);

        var close = await client.ReceiveAsync();
        Assert.Equal(WebSocketOpcode.Close, close.Opcode);
        Assert.Equal((ushort)WebSocketCloseStatus.EndpointUnavailable, close.CloseCode);
        await client.SendAsync(ListenerClient.CloseFrame(WebSocketCloseStatus.EndpointUnavailable));
        await client.ReadToEndAsync();

        await stopping.WaitAsync(ListenerHost.Timeout);
        Assert.False(timeout.IsCancellationRequested, "The server should stop once the connection has closed, not at the shutdown timeout.");
        await host.App.DisposeAsync();
    }

    // Issue 12: the raw listener drains like the endpoint-routing path: a real host stop (real clock, 1 s window)
    // refuses new upgrades with 503 and Retry-After, and closes the open connection with 1012 within the window.
    [Fact]
    public async Task ServerShutdown_WithTheDrainOn_Closes1012WithinTheWindow_AndRefusesUpgradesWith503()
    {
        var host = await ListenerHost.StartAsync(app => app.MapWibeSocket("/echo", ListenerHost.EchoAsync), o =>
        {
            o.Drain.Enabled = true;
            o.Drain.Window = TimeSpan.FromSeconds(1);
            o.CloseTimeout = TimeSpan.FromSeconds(2);
        });
        await using var client = await host.OpenAsync();
        await client.SendAsync(ListenerClient.TextFrame("up"));
        Assert.Equal("up", (await client.ReceiveAsync()).Text);

        using var timeout = new CancellationTokenSource(ListenerHost.Timeout);
        var stopping = host.App.StopAsync(timeout.Token);
        await Shockwave.Middleware.Tests.Support.Eventually.TrueAsync(() => host.Services.GetRequiredService<IWibeSocketDrain>().IsDraining, what: "the drain started");

        await using (var late = await host.ConnectRawAsync())
        {
            await late.SendAsync(ListenerClient.UpgradeRequest("/echo"));
            var refused = await late.ReadResponseHeadAsync();
            Assert.Equal(503, refused.StatusCode);
            Assert.True(refused.Headers.Contains("Retry-After"));
        }

        var close = await client.ReceiveAsync();
        Assert.Equal(WebSocketOpcode.Close, close.Opcode);
        Assert.Equal((ushort)1012, close.CloseCode);
        await client.SendAsync(ListenerClient.CloseFrame(WebSocketCloseStatus.NormalClosure));
        await client.ReadToEndAsync();

        await stopping.WaitAsync(ListenerHost.Timeout);
        Assert.False(timeout.IsCancellationRequested);
        await host.App.DisposeAsync();
    }
}
