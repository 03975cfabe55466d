using System.Net;
using System.Net.Sockets;
using System.Text;
using Shockwave.Protocol.Handshake;

namespace Shockwave.Client.Tests;

/// <summary>
/// A TCP server on 127.0.0.1 that reads one upgrade request and answers whatever the test scripts, from the request's
/// key: a valid 101, a broken one, another status, garbage, or nothing at all. Keeps the connection open until disposed.
/// </summary>
public sealed class ScriptedServer : IAsyncDisposable
{
    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly Func<string, string?> _answer;
    private readonly Task _run;
    private readonly CancellationTokenSource _stop = new();
    private Socket? _accepted;

    /// <param name="answer">The bytes (as Latin-1 text) to answer a request carrying the given key with; null answers nothing.</param>
    public ScriptedServer(Func<string, string?> answer)
    {
        _answer = answer;
        _listener.Start();
        _run = RunAsync();
    }

    public Uri Url => new($"ws://127.0.0.1:{((IPEndPoint)_listener.LocalEndpoint).Port}/chat");

    /// <summary>What the server received after the request head (frames the client sent), once the client closed or the server stopped.</summary>
    public Task Completion => _run;

    public static string Accept(string key) => WebSocketAccept.ComputeAccept(key);

    public static string SwitchingProtocols(string key, string extraHeaders = "") =>
        $"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: {Accept(key)}\r\n{extraHeaders}\r\n";

    private int _disposed;

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        await _stop.CancelAsync();
        _listener.Stop();
        _accepted?.Dispose();
        try
        {
            await _run.WaitAsync(TimeSpan.FromSeconds(5));
        }
        catch (Exception ex) when (ex is OperationCanceledException or SocketException or ObjectDisposedException or IOException)
        {
        }

        _stop.Dispose();
    }

    private async Task RunAsync()
    {
        var socket = await _listener.AcceptSocketAsync(_stop.Token);
        _accepted = socket;
        var received = new StringBuilder();
        var buffer = new byte[4096];
        while (!received.ToString().Contains("\r\n\r\n", StringComparison.Ordinal))
        {
            int read = await socket.ReceiveAsync(buffer, _stop.Token);
            if (read == 0)
            {
                return;
            }

            received.Append(Encoding.Latin1.GetString(buffer, 0, read));
        }

        string key = received.ToString().Split("\r\n").Single(line => line.StartsWith("Sec-WebSocket-Key:", StringComparison.OrdinalIgnoreCase))["Sec-WebSocket-Key:".Length..].Trim();
        if (_answer(key) is { } answer)
        {
            await socket.SendAsync(Encoding.Latin1.GetBytes(answer), _stop.Token);
        }

        // Hold the connection (never reading, never answering pings) until the client goes or the test ends.
        await Task.Delay(Timeout.Infinite, _stop.Token);
    }
}
