using Shockwave.Tests.Shared;
using System.Buffers.Binary;
using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;

namespace Shockwave.Conformance.Tests.Fuzzing;

/// <summary>A connection whose server reaction was not one of the legal ones.</summary>
internal sealed class FuzzFailure(string message) : Exception(message);

/// <summary>
/// Sends mutated client frame streams to a running echo server over real TCP, each cut into random writes, and judges
/// the server's reaction against <see cref="EchoModel"/>: the echoes (text or binary, same bytes) are a prefix of the
/// messages the model says precede any fault, in order, all of them when the connection is healthy; pongs answer pings
/// of the stream, in order; then the close the model dictates (the fault's code, or the client's own code echoed) or a
/// TCP close where a fault allows one; and every wait is bounded, so a server that hangs fails the connection.
/// </summary>
internal sealed class NetworkFuzzer(IPEndPoint endPoint, string host, string path)
{
    /// <summary>How long anything the server owes (an echo, a close, the TCP close) may take.</summary>
    public static readonly TimeSpan Bound = TimeSpan.FromSeconds(10);

    public ConcurrentDictionary<string, int> Outcomes { get; } = new(StringComparer.Ordinal);

    /// <summary>The total time connections with each outcome took, to spot a reaction that is legal but slow.</summary>
    public ConcurrentDictionary<string, double> Milliseconds { get; } = new(StringComparer.Ordinal);

    public static NetworkFuzzer FromUrl(string url)
    {
        var uri = new Uri(url);
        var addresses = Dns.GetHostAddresses(uri.Host);
        var address = addresses.FirstOrDefault(a => a.AddressFamily == AddressFamily.InterNetwork) ?? addresses[0];
        return new NetworkFuzzer(new IPEndPoint(address, uri.Port), uri.Authority, uri.PathAndQuery);
    }

    /// <summary>Runs one fuzz connection for <paramref name="seed"/> and returns its outcome; throws <see cref="FuzzFailure"/> on an illegal reaction.</summary>
    public async Task<string> RunAsync(int seed)
    {
        long startedAt = System.Diagnostics.Stopwatch.GetTimestamp();
        var random = new Random(seed);
        byte[] stream = FuzzStreams.Mutated(random);
        var expected = EchoModel.Run(stream);
        await using var client = await FuzzClient.ConnectAsync(endPoint, host, path);
        string Describe() => $"expected {expected}; saw {client.Describe()}";
        if (expected.End == ModelEnd.ClientClosed)
        {
            client.ClientCloseInStream();
        }

        // Random TCP write boundaries: single bytes, small pieces, whole runs; now and then a pause so pieces go out alone.
        int offset = 0;
        while (offset < stream.Length && !client.ServerClosed)
        {
            int piece = random.Next(4) switch
            {
                0 => 1,
                1 => random.Next(1, 8),
                2 => random.Next(1, 200),
                _ => stream.Length - offset,
            };
            piece = Math.Min(piece, stream.Length - offset);
            if (!await client.WriteAsync(stream.AsMemory(offset, piece)))
            {
                break;
            }

            offset += piece;
            if (random.Next(8) == 0)
            {
                await Task.Delay(random.Next(0, 3));
            }
        }

        string outcome;
        switch (expected.End)
        {
            case ModelEnd.Failed:
            {
                // The server owes a close with the fault's code (after some or all of the earlier echoes) and then the TCP close.
                await client.WaitAsync(() => client.TcpClosed, Bound, "the TCP close after a protocol error", Describe);
                CheckEchoes(client, expected, all: false, Describe);
                if (client.CloseCode is null && client.CloseReceived)
                {
                    throw new FuzzFailure($"empty close after a protocol error; {Describe()}");
                }

                if (client.CloseReceived && client.CloseCode != expected.Code)
                {
                    throw new FuzzFailure($"close code {client.CloseCode} instead of {expected.Code}; {Describe()}");
                }

                outcome = client.CloseReceived ? $"fail {expected.Code}" : $"fail {expected.Code} as TCP close";
                break;
            }

            case ModelEnd.ClientClosed:
            {
                await client.WaitAsync(() => client.TcpClosed, Bound, "the close handshake", Describe);
                CheckEchoes(client, expected, all: false, Describe);
                if (!client.CloseReceived || client.CloseCode != expected.Code)
                {
                    throw new FuzzFailure($"the client's close ({expected.Code?.ToString() ?? "empty"}) was not echoed; {Describe()}");
                }

                outcome = "client close echoed";
                break;
            }

            default:
            {
                // A healthy connection: every message the model completed comes back, then the connection is ended.
                await client.WaitAsync(() => client.Messages.Count >= expected.Messages.Count || client.ServerClosed, Bound, "the echoes", Describe);
                if (client.ServerClosed)
                {
                    throw new FuzzFailure($"the server closed a connection that broke no rule; {Describe()}");
                }

                CheckEchoes(client, expected, all: true, Describe);
                if (expected.End == ModelEnd.Open && random.Next(3) != 0)
                {
                    // Between frames a close is legal (even inside a fragmented message, R6455-5.4-d): it must be echoed.
                    await client.SendCloseAsync(Close(random, 1000));
                    await client.WaitAsync(() => client.TcpClosed, Bound, "the close handshake", Describe);
                    if (client.CloseCode != 1000)
                    {
                        throw new FuzzFailure($"close 1000 answered with {client.CloseCode?.ToString() ?? "none"}; {Describe()}");
                    }

                    outcome = "valid, closed 1000";
                }
                else
                {
                    client.Abort(reset: random.Next(2) == 0);
                    outcome = expected.End == ModelEnd.Open ? "valid, dropped" : "valid, dropped mid-frame";
                }

                break;
            }
        }

        Outcomes.AddOrUpdate(outcome, 1, (_, n) => n + 1);
        double elapsed = System.Diagnostics.Stopwatch.GetElapsedTime(startedAt).TotalMilliseconds;
        Milliseconds.AddOrUpdate(outcome, elapsed, (_, total) => total + elapsed);
        return outcome;
    }

    /// <summary>A well-behaved connection: text, binary, a fragmented message with a ping inside, a close; all echoed.</summary>
    public async Task CheckCleanConnectionAsync(int seed)
    {
        var random = new Random(seed);
        var bytes = new List<byte>();
        byte[] text = Encoding.UTF8.GetBytes("clean connection ✓ " + seed);
        FuzzStreams.AddFrame(bytes, random, 1, text);
        byte[] binary = RandomPayloads.RandomBytes(random, 300);
        FuzzStreams.AddFrame(bytes, random, 2, binary);
        FuzzStreams.AddFrame(bytes, random, 2, binary.AsSpan(0, 100), fin: false);
        FuzzStreams.AddFrame(bytes, random, 9, "clean"u8);
        FuzzStreams.AddFrame(bytes, random, 0, binary.AsSpan(100), fin: true);
        await using var client = await FuzzClient.ConnectAsync(endPoint, host, path);
        string Describe() => $"clean connection: {client.Describe()}";
        await client.WriteAsync(bytes.ToArray());
        await client.WaitAsync(() => client.Messages.Count >= 3 && client.Pongs.Count >= 1, Bound, "the clean echoes", Describe);
        ModelMessage[] want = [new(1, text), new(2, binary), new(2, binary)];
        for (int i = 0; i < want.Length; i++)
        {
            if (client.Messages[i].Opcode != want[i].Opcode || !client.Messages[i].Payload.AsSpan().SequenceEqual(want[i].Payload))
            {
                throw new FuzzFailure($"echo {i} differs; {Describe()}");
            }
        }

        if (!client.Pongs[0].AsSpan().SequenceEqual("clean"u8))
        {
            throw new FuzzFailure($"wrong pong; {Describe()}");
        }

        await client.SendCloseAsync(Close(random, 1000));
        await client.WaitAsync(() => client.TcpClosed, Bound, "the clean close handshake", Describe);
        if (client.CloseCode != 1000)
        {
            throw new FuzzFailure($"clean close answered with {client.CloseCode}; {Describe()}");
        }
    }

    private static byte[] Close(Random random, ushort code)
    {
        var bytes = new List<byte>();
        var payload = new byte[2];
        BinaryPrimitives.WriteUInt16BigEndian(payload, code);
        FuzzStreams.AddFrame(bytes, random, 8, payload);
        return [.. bytes];
    }

    private static void CheckEchoes(FuzzClient client, EchoExpectation expected, bool all, Func<string> describe)
    {
        var seen = client.Messages;
        if (seen.Count > expected.Messages.Count || (all && seen.Count != expected.Messages.Count))
        {
            throw new FuzzFailure($"{seen.Count} echoes where {expected.Messages.Count} messages were valid; {describe()}");
        }

        for (int i = 0; i < seen.Count; i++)
        {
            if (seen[i].Opcode != expected.Messages[i].Opcode || !seen[i].Payload.AsSpan().SequenceEqual(expected.Messages[i].Payload))
            {
                throw new FuzzFailure($"echo {i} is {seen[i]}, not {expected.Messages[i]}; {describe()}");
            }
        }

        // Pongs answer pings in order; a server may answer only the latest of several (R6455-5.5.3), so a subsequence.
        int next = 0;
        foreach (var pong in client.Pongs)
        {
            while (next < expected.Pings.Count && !expected.Pings[next].AsSpan().SequenceEqual(pong))
            {
                next++;
            }

            if (next == expected.Pings.Count)
            {
                throw new FuzzFailure($"a pong [{pong.Length}] that answers no ping of the stream; {describe()}");
            }

            next++;
        }
    }
}

/// <summary>
/// A raw client socket for the fuzzer: its own upgrade request, then a background reader that parses the server's frames
/// strictly (unmasked, valid opcodes and lengths, whole messages), answers a close with a close, and notes the TCP close.
/// </summary>
internal sealed class FuzzClient : IAsyncDisposable
{
    private readonly Socket _socket;
    private readonly object _gate = new();
    private readonly List<ModelMessage> _messages = [];
    private readonly List<byte[]> _pongs = [];
    private readonly List<string> _violations = [];
    private readonly CancellationTokenSource _stop = new();
    private TaskCompletionSource _changed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private Task _reader = Task.CompletedTask;
    private byte[] _in = new byte[16 * 1024];
    private int _start;
    private int _end;
    private int _messageOpcode = -1;
    private readonly List<byte> _message = [];
    private volatile bool _closeSent;
    private volatile bool _closeReplied;

    private FuzzClient(Socket socket) => _socket = socket;

    public List<ModelMessage> Messages { get { lock (_gate) { return [.. _messages]; } } }

    public List<byte[]> Pongs { get { lock (_gate) { return [.. _pongs]; } } }

    public bool CloseReceived { get; private set; }

    public ushort? CloseCode { get; private set; }

    public bool TcpClosed { get; private set; }

    public bool ServerClosed => CloseReceived || TcpClosed;

    /// <summary>Set when the stream itself carries a close, so the server's answer is not answered again.</summary>
    public void ClientCloseInStream() => _closeReplied = true;

    /// <summary>Sends a close frame as the last thing this client sends.</summary>
    public async Task SendCloseAsync(byte[] frame)
    {
        _closeReplied = true;
        await WriteAsync(frame);
        _closeSent = true;
    }

    public static async Task<FuzzClient> ConnectAsync(IPEndPoint endPoint, string host, string path)
    {
        var socket = new Socket(endPoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        var client = new FuzzClient(socket);
        try
        {
            using var timeout = new CancellationTokenSource(NetworkFuzzer.Bound);
            await socket.ConnectAsync(endPoint, timeout.Token);
            string key = Convert.ToBase64String(RandomNumberGenerator.GetBytes(16));
            string request = $"GET {path} HTTP/1.1\r\nHost: {host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n";
            await socket.SendAsync(Encoding.ASCII.GetBytes(request), SocketFlags.None, timeout.Token);
            int headEnd;
            while ((headEnd = client._in.AsSpan(0, client._end).IndexOf("\r\n\r\n"u8)) < 0)
            {
                int read = await socket.ReceiveAsync(client._in.AsMemory(client._end), SocketFlags.None, timeout.Token);
                if (read == 0 || client._end + read == client._in.Length)
                {
                    throw new FuzzFailure($"no upgrade response: {Encoding.ASCII.GetString(client._in, 0, client._end + read)}");
                }

                client._end += read;
            }

            string head = Encoding.ASCII.GetString(client._in, 0, headEnd);
            if (!head.StartsWith("HTTP/1.1 101", StringComparison.Ordinal))
            {
                throw new FuzzFailure($"upgrade refused: {head}");
            }

            client._start = headEnd + 4;
        }
        catch
        {
            socket.Dispose();
            throw;
        }

        client._reader = Task.Run(client.ReadLoopAsync);
        return client;
    }

    /// <summary>Writes bytes; false once the server has closed or the write failed (a reset after a close is legal).</summary>
    public async Task<bool> WriteAsync(ReadOnlyMemory<byte> bytes)
    {
        if (_closeSent || ServerClosed)
        {
            return false;
        }

        try
        {
            using var timeout = new CancellationTokenSource(NetworkFuzzer.Bound);
            await _socket.SendAsync(bytes, SocketFlags.None, timeout.Token);
            return true;
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException)
        {
            return false;
        }
        catch (OperationCanceledException)
        {
            throw new FuzzFailure($"a write of {bytes.Length} bytes did not complete within {NetworkFuzzer.Bound.TotalSeconds} s; {Describe()}");
        }
    }

    /// <summary>Waits for <paramref name="condition"/>; throws <see cref="FuzzFailure"/> (the server hung) after <paramref name="bound"/>.</summary>
    public async Task WaitAsync(Func<bool> condition, TimeSpan bound, string what, Func<string> describe)
    {
        var deadline = DateTime.UtcNow + bound;
        while (true)
        {
            Task changed;
            lock (_gate)
            {
                if (_violations.Count > 0)
                {
                    throw new FuzzFailure($"the server broke RFC 6455: {string.Join("; ", _violations)}; {describe()}");
                }

                if (condition())
                {
                    return;
                }

                changed = _changed.Task;
            }

            var left = deadline - DateTime.UtcNow;
            if (left <= TimeSpan.Zero)
            {
                throw new FuzzFailure($"no {what} within {bound.TotalSeconds} s; {describe()}");
            }

            await Task.WhenAny(changed, Task.Delay(left));
        }
    }

    /// <summary>Drops the connection mid-stream: a FIN, or an RST (linger 0).</summary>
    public void Abort(bool reset)
    {
        try
        {
            if (reset)
            {
                _socket.LingerState = new LingerOption(true, 0);
                _socket.Close();
            }
            else
            {
                _socket.Shutdown(SocketShutdown.Both);
            }
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException)
        {
        }
    }

    public string Describe()
    {
        lock (_gate)
        {
            return $"{_messages.Count} echoes [{string.Join(", ", _messages.Take(12))}], {_pongs.Count} pongs, " +
                (CloseReceived ? $"close {CloseCode?.ToString() ?? "empty"}" : "no close") + (TcpClosed ? ", TCP closed" : ", TCP open") +
                (_violations.Count > 0 ? ", violations: " + string.Join("; ", _violations) : "");
        }
    }

    private async Task ReadLoopAsync()
    {
        try
        {
            while (true)
            {
                Parse();
                if (_end == _in.Length)
                {
                    if (_start > 0)
                    {
                        _in.AsSpan(_start, _end - _start).CopyTo(_in);
                        _end -= _start;
                        _start = 0;
                    }
                    else
                    {
                        Array.Resize(ref _in, _in.Length * 2);
                    }
                }

                int read = await _socket.ReceiveAsync(_in.AsMemory(_end), SocketFlags.None, _stop.Token);
                if (read == 0)
                {
                    break;
                }

                _end += read;
            }
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException or OperationCanceledException)
        {
        }

        lock (_gate)
        {
            TcpClosed = true;
            Signal();
        }
    }

    private void Parse()
    {
        while (true)
        {
            var span = _in.AsSpan(_start, _end - _start);
            if (span.Length < 2)
            {
                return;
            }

            int opcode = span[0] & 0xF;
            bool fin = (span[0] & 0x80) != 0;
            int length7 = span[1] & 0x7F;
            int header = length7 == 126 ? 4 : length7 == 127 ? 10 : 2;
            if (span.Length < header)
            {
                return;
            }

            long length = length7 == 126 ? BinaryPrimitives.ReadUInt16BigEndian(span[2..]) : length7 == 127 ? (long)BinaryPrimitives.ReadUInt64BigEndian(span[2..]) : length7;
            lock (_gate)
            {
                if ((span[1] & 0x80) != 0 || (span[0] & 0x70) != 0 || length is < 0 or > 1 << 26 || opcode is not (0 or 1 or 2 or 8 or 9 or 10)
                    || (opcode >= 8 && (!fin || length > 125)))
                {
                    _violations.Add($"invalid server frame header {span[0]:X2} {span[1]:X2}");
                    Signal();
                    throw new ObjectDisposedException("invalid server frame");
                }
            }

            if (span.Length < header + length)
            {
                if (header + length > _in.Length)
                {
                    Array.Resize(ref _in, (int)(header + length) * 2);
                }

                return;
            }

            byte[] payload = span.Slice(header, (int)length).ToArray();
            _start += header + (int)length;
            OnFrame(opcode, fin, payload);
        }
    }

    private void OnFrame(int opcode, bool fin, byte[] payload)
    {
        lock (_gate)
        {
            if (CloseReceived)
            {
                _violations.Add($"a frame (opcode {opcode}) after the server's close");
            }

            switch (opcode)
            {
                case 1 or 2 when _messageOpcode < 0:
                case 0 when _messageOpcode >= 0:
                    if (opcode != 0)
                    {
                        _messageOpcode = opcode;
                        _message.Clear();
                    }

                    _message.AddRange(payload);
                    if (fin)
                    {
                        _messages.Add(new ModelMessage(_messageOpcode, [.. _message]));
                        _messageOpcode = -1;
                    }

                    break;
                case 0 or 1 or 2:
                    _violations.Add($"fragmentation out of order (opcode {opcode})");
                    break;
                case 8:
                    CloseReceived = true;
                    if (payload.Length == 1)
                    {
                        _violations.Add("a 1-byte close payload");
                    }

                    CloseCode = payload.Length >= 2 ? BinaryPrimitives.ReadUInt16BigEndian(payload) : null;
                    if (!_closeReplied)
                    {
                        // R6455-5.5.1: answer with a close echoing the code.
                        _closeReplied = true;
                        _closeSent = true;
                        var reply = new List<byte>();
                        FuzzStreams.AddFrame(reply, Random.Shared, 8, payload.AsSpan(0, Math.Min(2, payload.Length)));
                        _ = SendQuietlyAsync([.. reply]);
                    }

                    break;
                case 9:
                    break;
                case 10:
                    _pongs.Add(payload);
                    break;
            }

            Signal();
        }
    }

    private async Task SendQuietlyAsync(byte[] bytes)
    {
        try
        {
            using var timeout = new CancellationTokenSource(NetworkFuzzer.Bound);
            await _socket.SendAsync(bytes, SocketFlags.None, timeout.Token);
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException or OperationCanceledException)
        {
        }
    }

    private void Signal()
    {
        var changed = _changed;
        _changed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        changed.TrySetResult();
    }

    public async ValueTask DisposeAsync()
    {
        _stop.Cancel();
        _socket.Dispose();
        await _reader.WaitAsync(TimeSpan.FromSeconds(5)).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        _stop.Dispose();
    }
}
