using System.Diagnostics;
using Shockwave.Protocol.Handshake;

namespace Shockwave.Client.Tests;

/// <summary>A server that answers the upgrade wrongly gets a clear exception from ConnectAsync, never a hang.</summary>
public sealed class HandshakeFailureTests
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(10);

    [Fact]
    public async Task BadAccept_UpgradeExceptionInvalidAccept()
    {
        await using var server = new ScriptedServer(key => ScriptedServer.SwitchingProtocols(key).Replace(ScriptedServer.Accept(key), "dGhlIHNhbXBsZSBub25jZQ==", StringComparison.Ordinal));
        var error = await Assert.ThrowsAsync<WibeSocketUpgradeException>(() => WibeSocketClient.ConnectAsync(server.Url).WaitAsync(Bound));
        Assert.Equal(WebSocketResponseFailure.InvalidAccept, error.Failure);
        Assert.Equal(101, error.StatusCode);
        Assert.Contains("Sec-WebSocket-Accept", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task MissingUpgradeHeader_UpgradeExceptionMissingUpgrade()
    {
        await using var server = new ScriptedServer(key => ScriptedServer.SwitchingProtocols(key).Replace("Upgrade: websocket\r\n", "", StringComparison.Ordinal));
        var error = await Assert.ThrowsAsync<WibeSocketUpgradeException>(() => WibeSocketClient.ConnectAsync(server.Url).WaitAsync(Bound));
        Assert.Equal(WebSocketResponseFailure.MissingUpgradeWebSocket, error.Failure);
    }

    [Fact]
    public async Task UnofferedExtension_UpgradeExceptionUnofferedExtension()
    {
        await using var server = new ScriptedServer(key => ScriptedServer.SwitchingProtocols(key, "Sec-WebSocket-Extensions: permessage-deflate\r\n"));
        var error = await Assert.ThrowsAsync<WibeSocketUpgradeException>(() => WibeSocketClient.ConnectAsync(server.Url).WaitAsync(Bound));
        Assert.Equal(WebSocketResponseFailure.UnofferedExtension, error.Failure);
    }

    [Fact]
    public async Task DeflateParameterNotOffered_UpgradeExceptionInvalidPerMessageDeflate()
    {
        // The offer asks for server_max_window_bits=10; an answer with 12 exceeds it (RFC 7692 section 7.1.2.1).
        await using var server = new ScriptedServer(key => ScriptedServer.SwitchingProtocols(key, "Sec-WebSocket-Extensions: permessage-deflate; server_max_window_bits=12\r\n"));
        var options = new WibeSocketClientOptions();
        options.Compression.Enabled = true;
        options.Compression.ServerMaxWindowBits = 10;
        var error = await Assert.ThrowsAsync<WibeSocketUpgradeException>(() => WibeSocketClient.ConnectAsync(server.Url, options).WaitAsync(Bound));
        Assert.Equal(WebSocketResponseFailure.InvalidPerMessageDeflate, error.Failure);
    }

    [Fact]
    public async Task UnofferedSubProtocol_UpgradeExceptionUnofferedSubProtocol()
    {
        await using var server = new ScriptedServer(key => ScriptedServer.SwitchingProtocols(key, "Sec-WebSocket-Protocol: other\r\n"));
        var options = new WibeSocketClientOptions();
        options.SubProtocols.Add("chat");
        var error = await Assert.ThrowsAsync<WibeSocketUpgradeException>(() => WibeSocketClient.ConnectAsync(server.Url, options).WaitAsync(Bound));
        Assert.Equal(WebSocketResponseFailure.UnofferedSubProtocol, error.Failure);
    }

    [Fact]
    public async Task Status200_UpgradeExceptionWithStatus()
    {
        await using var server = new ScriptedServer(_ => "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 5\r\n\r\nhello");
        var error = await Assert.ThrowsAsync<WibeSocketUpgradeException>(() => WibeSocketClient.ConnectAsync(server.Url).WaitAsync(Bound));
        Assert.Equal(WebSocketResponseFailure.UnexpectedStatusCode, error.Failure);
        Assert.Equal(200, error.StatusCode);
        Assert.Contains("200 OK instead of 101", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Garbage_UpgradeExceptionNotHttp()
    {
        await using var server = new ScriptedServer(_ => "SSH-2.0-OpenSSH_9.6\r\n\r\n");
        var error = await Assert.ThrowsAsync<WibeSocketUpgradeException>(() => WibeSocketClient.ConnectAsync(server.Url).WaitAsync(Bound));
        Assert.NotEqual(Http1HeadError.None, error.HeadError);
        Assert.Equal(0, error.StatusCode);
        Assert.Contains("not an HTTP/1.1 response", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task NeverAnswering_TimeoutExceptionAfterConnectTimeout()
    {
        await using var server = new ScriptedServer(_ => null);
        var options = new WibeSocketClientOptions { ConnectTimeout = TimeSpan.FromMilliseconds(500) };
        var watch = Stopwatch.StartNew();
        var error = await Assert.ThrowsAsync<TimeoutException>(() => WibeSocketClient.ConnectAsync(server.Url, options).WaitAsync(Bound));
        Assert.InRange(watch.Elapsed, TimeSpan.FromMilliseconds(400), TimeSpan.FromSeconds(5));
        Assert.Contains("connect timeout", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ClosingBeforeAnswering_UpgradeExceptionEndOfStream()
    {
        await using var server = new ScriptedServer(_ => "HTTP/1.1 101 Swi");
        var options = new WibeSocketClientOptions { ConnectTimeout = TimeSpan.FromSeconds(2) };

        // A partial head and then silence is a timeout; a partial head and a closed connection is a clear failure.
        var connect = WibeSocketClient.ConnectAsync(server.Url, options);
        await Task.Delay(200);
        await server.DisposeAsync();
        var error = await Assert.ThrowsAsync<WibeSocketUpgradeException>(() => connect.WaitAsync(Bound));
        Assert.Contains("closed the connection before answering", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ValidAnswerThenSilence_KeepAlivePongTimeoutAbortsOnManualClock()
    {
        await using var server = new ScriptedServer(key => ScriptedServer.SwitchingProtocols(key));
        var time = new Shockwave.Tests.Shared.ManualTimeProvider();
        var options = new WibeSocketClientOptions
        {
            TimeProvider = time,
            KeepAliveInterval = TimeSpan.FromSeconds(10),
            KeepAliveTimeout = TimeSpan.FromSeconds(5),
        };
        await using var socket = await WibeSocketClient.ConnectAsync(server.Url, options).WaitAsync(Bound);
        Assert.Equal(WibeSocketState.Open, socket.State);

        // Silent for the interval: a ping goes out; still open while the pong is due.
        time.Advance(TimeSpan.FromSeconds(11));
        Assert.Equal(WibeSocketState.Open, socket.State);
        time.Advance(TimeSpan.FromSeconds(3));
        Assert.Equal(WibeSocketState.Open, socket.State);

        // No pong (nor anything else) within the timeout: the connection is aborted.
        time.Advance(TimeSpan.FromSeconds(3));
        Assert.True((await socket.ReceiveAsync().AsTask().WaitAsync(Bound)).IsClose);
        Assert.Equal(WibeSocketState.Aborted, socket.State);
        Assert.True(socket.ConnectionClosed.IsCancellationRequested);
        await socket.Completion.WaitAsync(Bound);
    }

    [Fact]
    public async Task KeepAliveOff_SilentServerStaysOpen()
    {
        await using var server = new ScriptedServer(key => ScriptedServer.SwitchingProtocols(key));
        var time = new Shockwave.Tests.Shared.ManualTimeProvider();
        var options = new WibeSocketClientOptions { TimeProvider = time, KeepAliveInterval = TimeSpan.Zero };
        await using var socket = await WibeSocketClient.ConnectAsync(server.Url, options).WaitAsync(Bound);
        time.Advance(TimeSpan.FromMinutes(10));
        Assert.Equal(WibeSocketState.Open, socket.State);
    }
}
