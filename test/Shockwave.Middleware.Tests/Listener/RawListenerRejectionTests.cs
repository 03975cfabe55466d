using System.Diagnostics.Metrics;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Shockwave.Protocol;
using Shockwave.Protocol.Handshake;

namespace Shockwave.Middleware.Tests.Listener;

/// <summary>
/// Every way the raw listener refuses a connection: a proper HTTP/1.1 error with <c>Connection: close</c> and
/// <c>Content-Length: 0</c>, nothing after it, and the connection closed, with the other connections unaffected.
/// </summary>
public class RawListenerRejectionTests
{
    private const string Key15Bytes = "AAAAAAAAAAAAAAAAAAAA";

    public static TheoryData<string, string, int, string?, string?> Rejections() => new()
    {
        // R6455-4.2.1-a1: GET only (405 with Allow, as the endpoint path answers), HTTP/1.1 or later.
        { "a1 POST", ListenerClient.UpgradeRequest(method: "POST"), 405, "Allow", "GET" },
        { "a1 HTTP/1.0", ListenerClient.UpgradeRequest(version: "HTTP/1.0"), 400, null, null },
        { "a1 HTTP/2.0 request line", ListenerClient.UpgradeRequest(version: "HTTP/2.0"), 505, null, null },

        // R6455-4.2.1-a2 to a4.
        { "a2 no Host", ListenerClient.UpgradeRequest(overrides: [("Host", null)]), 400, null, null },
        { "a3 Upgrade h2c", ListenerClient.UpgradeRequest(overrides: [("Upgrade", "h2c")]), 400, null, null },
        { "a4 Connection close", ListenerClient.UpgradeRequest(overrides: [("Connection", "close")]), 400, null, null },

        // R6455-4.2.1-a5, R6455-11.3-a: base64 of exactly 16 bytes, once.
        { "a5 15-byte key", ListenerClient.UpgradeRequest(overrides: [("Sec-WebSocket-Key", Key15Bytes)]), 400, null, null },
        { "a5 non-base64 key", ListenerClient.UpgradeRequest(overrides: [("Sec-WebSocket-Key", "not a key at all!!!!!!==")]), 400, null, null },
        { "a5 no key", ListenerClient.UpgradeRequest(overrides: [("Sec-WebSocket-Key", null)]), 400, null, null },
        { "11.3-a two keys", ListenerClient.UpgradeRequest(overrides: [("Sec-WebSocket-Key", ListenerClient.SampleKey), ("Sec-WebSocket-Key", ListenerClient.SampleKey)]), 400, null, null },

        // R6455-4.2.1-a6, R6455-4.2.2-d, R6455-4.4-a, R6455-11.3-b: version 13, once; another gets 426 naming 13.
        { "a6 no version", ListenerClient.UpgradeRequest(overrides: [("Sec-WebSocket-Version", null)]), 400, null, null },
        { "4.2.2-d version 8", ListenerClient.UpgradeRequest(overrides: [("Sec-WebSocket-Version", "8")]), 426, "Sec-WebSocket-Version", "13" },
        { "4.4-a version 25", ListenerClient.UpgradeRequest(overrides: [("Sec-WebSocket-Version", "25")]), 426, "Sec-WebSocket-Version", "13" },
        { "11.3-b two versions", ListenerClient.UpgradeRequest(overrides: [("Sec-WebSocket-Version", "13"), ("Sec-WebSocket-Version", "13")]), 400, null, null },

        // R6455-4.2.2-e: no such resource.
        { "4.2.2-e unknown path", ListenerClient.UpgradeRequest("/nope"), 404, null, null },
        { "4.2.2-e path below endpoint", ListenerClient.UpgradeRequest("/echo/more"), 404, null, null },

        // A plain HTTP request to a WebSocket-only endpoint: what it takes (RFC 9110 section 15.5.22).
        { "plain GET", ListenerClient.UpgradeRequest(overrides: [("Upgrade", null), ("Connection", null), ("Sec-WebSocket-Key", null), ("Sec-WebSocket-Version", null)]), 426, "Upgrade", "websocket" },

        // A body would be read as frames; Kestrel refuses to upgrade such a request too.
        { "request with a body", ListenerClient.UpgradeRequest(overrides: [("Content-Length", "5")]), 400, null, null },
        { "chunked request", ListenerClient.UpgradeRequest(overrides: [("Transfer-Encoding", "chunked")]), 400, null, null },

        // Broken HTTP/1.1 syntax (RFC 9112 sections 2.2, 3 and 5.1).
        { "whitespace before colon", "GET /echo HTTP/1.1\r\nHost : 127.0.0.1\r\n\r\n", 400, null, null },
        { "bare LF", "GET /echo HTTP/1.1\nHost: 127.0.0.1\n\n", 400, null, null },
        { "asterisk target", ListenerClient.UpgradeRequest("*"), 400, null, null },
        { "garbage", "\u0001\u0002\u0003 binary noise \u007F\r\n\r\n", 400, null, null },
    };

    [Theory]
    [MemberData(nameof(Rejections))]
    public async Task InvalidRequest_IsAnsweredAndClosed(string name, string request, int status, string? header, string? value)
    {
        await using var host = await ListenerHost.StartAsync(app => app.MapWibeSocket("/echo", ListenerHost.EchoAsync));
        await using var client = await host.ConnectRawAsync();

        await client.SendAsync(request);
        var head = await client.ReadResponseHeadAsync();

        Assert.True(head.StatusCode == status, $"{name}: expected {status}, got {head.StatusCode}.");
        AssertRejection(head, status);
        if (header is not null)
        {
            Assert.Equal(value, head.Headers.GetFirstValue(header));
        }

        Assert.Empty(await client.ReadToEndAsync());

        // One bad request closes that connection only: the listener still serves the next one.
        await using var good = await host.OpenAsync();
    }

    [Fact]
    public async Task DisallowedOrigin_Gets403()
    {
        // R6455-4.2.2-c: the origin policy refuses with 403 and no 101; the allowed origin connects.
        await using var host = await ListenerHost.StartAsync(app => app.MapWibeSocket("/echo", ListenerHost.EchoAsync, o => o.AllowedOrigins.Add("https://good.example")));

        await using var evil = await host.ConnectRawAsync();
        await evil.SendAsync(ListenerClient.UpgradeRequest(overrides: [("Origin", "https://evil.example")]));
        AssertRejection(await evil.ReadResponseHeadAsync(), 403);
        Assert.Empty(await evil.ReadToEndAsync());

        await using var good = await host.ConnectRawAsync();
        await good.SendAsync(ListenerClient.UpgradeRequest(overrides: [("Origin", "https://good.example")]));
        Assert.Equal(101, (await good.ReadResponseHeadAsync()).StatusCode);
    }

    [Fact]
    public async Task OversizedHead_Gets431WithoutWaitingForItsEnd()
    {
        await using var host = await ListenerHost.StartAsync(app => app.MapWibeSocket("/echo", ListenerHost.EchoAsync), o => o.MaxRequestHeadSize = 1024);

        // A complete head one header too big.
        await using var complete = await host.ConnectRawAsync();
        await complete.SendAsync(ListenerClient.UpgradeRequest(overrides: [("Cookie", new string('c', 1100))]));
        AssertRejection(await complete.ReadResponseHeadAsync(), 431);
        Assert.Empty(await complete.ReadToEndAsync());

        // A header line that never ends: answered once the limit is passed, not at the handshake timeout.
        await using var endless = await host.ConnectRawAsync();
        await endless.SendAsync("GET /echo HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Pad: " + new string('p', 2000));
        AssertRejection(await endless.ReadResponseHeadAsync(), 431);

        // The limit is inclusive: a head of exactly 1024 bytes is accepted.
        string head = ListenerClient.UpgradeRequest();
        string exact = ListenerClient.UpgradeRequest(overrides: [("X-Pad", new string('p', 1024 - head.Length - "X-Pad: \r\n".Length))]);
        Assert.Equal(1024, exact.Length);
        await using var fits = await host.ConnectRawAsync();
        await fits.SendAsync(exact);
        Assert.Equal(101, (await fits.ReadResponseHeadAsync()).StatusCode);
    }

    [Fact]
    public async Task PartialHead_Gets408AtHandshakeTimeout()
    {
        var clock = new ListenerClock();
        var timeout = TimeSpan.FromSeconds(30);
        await using var host = await StartWithHandshakeTimeoutAsync(clock, timeout);
        await using var client = await host.ConnectRawAsync();
        await clock.WaitForTimersAsync(timeout);

        // A slow sender: part of a head, more later; the deadline bounds the whole head, not each read.
        await client.SendAsync("GET /echo HTTP/1.1\r\nHost: 127.0.0.1\r\n");
        clock.Advance(TimeSpan.FromSeconds(20));
        await client.SendAsync("Upgrade: websocket\r\n");
        clock.Advance(TimeSpan.FromSeconds(10));

        AssertRejection(await client.ReadResponseHeadAsync(), 408);
        Assert.Empty(await client.ReadToEndAsync());
        Assert.Contains(host.Logs.Entries, e => e.EventId.Id == 201);
    }

    [Fact]
    public async Task SilentConnection_Gets408AtHandshakeTimeout()
    {
        var clock = new ListenerClock();
        var timeout = TimeSpan.FromSeconds(30);
        await using var host = await StartWithHandshakeTimeoutAsync(clock, timeout);
        await using var client = await host.ConnectRawAsync();
        await clock.WaitForTimersAsync(timeout);

        clock.Advance(timeout - TimeSpan.FromTicks(1));
        Assert.Equal(1, clock.CountTimers(timeout));
        clock.Advance(TimeSpan.FromTicks(1));

        AssertRejection(await client.ReadResponseHeadAsync(), 408);
        Assert.Empty(await client.ReadToEndAsync());
    }

    [Fact]
    public async Task HandshakeTimeout_DoesNotApplyAfterThe101()
    {
        var clock = new ListenerClock();
        var timeout = TimeSpan.FromSeconds(30);
        await using var host = await StartWithHandshakeTimeoutAsync(clock, timeout, o => o.KeepAliveInterval = TimeSpan.Zero);
        await using var client = await host.OpenAsync();

        // The deadline's timer is gone once the 101 is out, and passing it changes nothing.
        Assert.Equal(0, clock.CountTimers(timeout));
        clock.Advance(timeout * 2);
        await client.SendAsync(ListenerClient.TextFrame("still here"));
        Assert.Equal("still here", (await client.ReceiveAsync()).Text);
    }

    [Fact]
    public async Task Rejection_WritesDebugLogLineAndMetric()
    {
        await using var host = await ListenerHost.StartAsync(app => app.MapWibeSocket("/echo", ListenerHost.EchoAsync));
        var factory = host.Services.GetRequiredService<IMeterFactory>();
        var measurements = new List<(long Value, string? Reason, int? Status)>();
        using var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Meter.Scope == factory && instrument.Name == "shockwave.handshake.rejections")
            {
                l.EnableMeasurementEvents(instrument);
            }
        };
        listener.SetMeasurementEventCallback<long>((_, value, tags, _) =>
        {
            string? reason = null;
            int? status = null;
            foreach (var tag in tags)
            {
                if (tag.Key == "shockwave.rejection_reason")
                {
                    reason = (string?)tag.Value;
                }
                else if (tag.Key == "http.response.status_code")
                {
                    status = (int?)tag.Value;
                }
            }

            lock (measurements)
            {
                measurements.Add((value, reason, status));
            }
        });
        listener.Start();

        await using var client = await host.ConnectRawAsync();
        await client.SendAsync(ListenerClient.UpgradeRequest(overrides: [("Sec-WebSocket-Version", "8")]));
        AssertRejection(await client.ReadResponseHeadAsync(), 426);

        var line = Assert.Single(host.Logs.Entries, e => e.EventId.Id == 200);
        Assert.Equal(LogLevel.Debug, line.Level);
        Assert.Contains("426 UnsupportedVersion", line.Message, StringComparison.Ordinal);
        lock (measurements)
        {
            Assert.Equal([(1L, "UnsupportedVersion", 426)], measurements);
        }
    }

    [Fact]
    public async Task MisbehavingPeers_DoNotDisturbOthers()
    {
        await using var host = await ListenerHost.StartAsync(app => app.MapWibeSocket("/echo", ListenerHost.EchoAsync));
        await using var open = await host.OpenAsync();

        // Gone right after connecting, gone mid-head, gone mid-frame, and a protocol error (an unmasked client frame).
        await (await host.ConnectRawAsync()).DisposeAsync();
        var midHead = await host.ConnectRawAsync();
        await midHead.SendAsync("GET /echo HTTP/1.1\r\nHo");
        await midHead.DisposeAsync();
        var midFrame = await host.OpenAsync();
        await midFrame.SendAsync(ListenerClient.TextFrame("cut short").AsMemory(0, 5));
        await midFrame.DisposeAsync();
        await using var unmasked = await host.OpenAsync();
        var frame = new System.Buffers.ArrayBufferWriter<byte>();
        WebSocketFrameWriter.WriteFrame(frame, WebSocketRole.Server, WebSocketOpcode.Text, fin: true, rsv1: false, "no mask"u8);
        await unmasked.SendAsync(frame.WrittenMemory);
        var close = await unmasked.ReceiveAsync();
        Assert.Equal((ushort)WebSocketCloseStatus.ProtocolError, close.CloseCode);

        // The connection opened before all that still works, and nothing was logged above Debug.
        await open.SendAsync(ListenerClient.TextFrame("unaffected"));
        Assert.Equal("unaffected", (await open.ReceiveAsync()).Text);
        Assert.DoesNotContain(host.Logs.Entries, e => e.Level >= LogLevel.Warning);
    }

    // The echo endpoint on a raw listener whose handshake deadline runs on the test's clock.
    private static Task<ListenerHost> StartWithHandshakeTimeoutAsync(ListenerClock clock, TimeSpan timeout, Action<WibeSocketOptions>? configure = null) =>
        ListenerHost.StartAsync(
            app => app.MapWibeSocket("/echo", ListenerHost.EchoAsync),
            o =>
            {
                o.HandshakeTimeout = timeout;
                configure?.Invoke(o);
            },
            services => services.AddSingleton<TimeProvider>(clock));

    private static void AssertRejection(Http1ResponseHead head, int status)
    {
        Assert.Equal(status, head.StatusCode);
        Assert.Equal(Http1ResponseWriter.GetReasonPhrase(status), head.ReasonPhrase);
        Assert.Equal("0", head.Headers.GetFirstValue("Content-Length"));
        Assert.True(HeaderTokens.ContainsToken(head.Headers.GetCombinedValue("Connection"), "close"), "Connection: close");
        Assert.False(head.Headers.Contains("Sec-WebSocket-Accept"));
    }
}
