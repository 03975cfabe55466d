using System.Buffers;
using System.Buffers.Binary;
using System.Diagnostics;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;
using System.Text.Unicode;
using Shockwave.Protocol;
using Shockwave.Protocol.Compression;

namespace Shockwave.Conformance.Tests;

/// <summary>How a case's bytes are cut into TCP writes.</summary>
internal enum WriteMode
{
    /// <summary>One write per send call, chopped only where the case asks (Autobahn's behaviour).</summary>
    Normal,

    /// <summary>Every byte in its own write, handshake included, with TCP_NODELAY so each goes out as its own segment.</summary>
    Bytewise,

    /// <summary>After the handshake, everything the case sends before it next waits on the server goes out in one write.</summary>
    Coalesced,
}

/// <summary>
/// A raw-socket WebSocket client written for the conformance cases: its own handshake, masking and framing, a background
/// reader that parses every server frame strictly (a server that breaks RFC 6455 is recorded as a violation), answers
/// pings and close frames as a well-behaved client does, and records what it saw in <see cref="Observations"/>.
/// </summary>
internal sealed class CaseConnection : IAsyncDisposable
{
    /// <summary>How long a case waits for something the server owes it (an echo, a close, the TCP close).</summary>
    public static readonly TimeSpan Wait = TimeSpan.FromSeconds(2);

    private const long MaxServerFrame = 80L * 1024 * 1024;

    private readonly Socket _socket;
    private readonly ArrayBufferWriter<byte> _pending = new();
    private readonly SemaphoreSlim _writeLock = new(1, 1);
    private readonly CancellationTokenSource _stop = new();
    private TaskCompletionSource _changed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private Task _receiveLoop = Task.CompletedTask;
    private byte[] _in = new byte[64 * 1024];
    private int _inStart;
    private int _inEnd;
    private bool _headParsed;
    private bool _upgraded;
    private string? _expectedAccept;
    private string? _offeredExtensions;
    private PerMessageDeflateCompressor? _compressor;
    private PerMessageDeflateDecompressor? _decompressor;
    private ArrayBufferWriter<byte>? _message;
    private int _messageOpcode;
    private bool _messageCompressed;
    private int _messageFrames;
    private bool _sendFailed;
    private long _suppressedBytes;

    private CaseConnection(Socket socket, WriteMode mode, ConformanceServer server)
    {
        _socket = socket;
        Mode = mode;
        Server = server;
    }

    public WriteMode Mode { get; }

    public ConformanceServer Server { get; }

    public Observations Observations { get; } = new();

    /// <summary>The permessage-deflate parameters the server accepted, or null when it accepted none.</summary>
    public PerMessageDeflateParameters? Deflate { get; private set; }

    /// <summary>True once the client must stop sending: the server sent a close frame, the TCP connection ended, or a write failed.</summary>
    public bool SendingStopped => Observations.CloseReceived || Observations.TcpClosed || _sendFailed;

    public static async Task<CaseConnection> ConnectAsync(ConformanceServer server, WriteMode mode, CancellationToken cancellationToken)
    {
        var socket = new Socket(server.EndPoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        try
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeout.CancelAfter(TimeSpan.FromSeconds(5));
            await socket.ConnectAsync(server.EndPoint, timeout.Token);
        }
        catch
        {
            socket.Dispose();
            throw;
        }

        var connection = new CaseConnection(socket, mode, server);
        connection._receiveLoop = Task.Run(connection.ReceiveLoopAsync, CancellationToken.None);
        return connection;
    }

    // ---------------------------------------------------------------- handshake

    /// <summary>Builds the request a conforming client sends (R6455-4.1-o..z); extra lines are appended as given.</summary>
    public string BuildRequest(string path, string? extensions = null, IEnumerable<string>? extraHeaders = null, string? key = null)
    {
        key ??= Convert.ToBase64String(RandomNumberGenerator.GetBytes(16));
        var request = new StringBuilder();
        request.Append("GET ").Append(path).Append(" HTTP/1.1\r\n");
        request.Append("Host: ").Append(Server.Authority).Append("\r\n");
        request.Append("Upgrade: websocket\r\nConnection: Upgrade\r\n");
        request.Append("Sec-WebSocket-Key: ").Append(key).Append("\r\n");
        request.Append("Sec-WebSocket-Version: 13\r\n");
        if (extensions is not null)
        {
            request.Append("Sec-WebSocket-Extensions: ").Append(extensions).Append("\r\n");
        }

        foreach (var line in extraHeaders ?? [])
        {
            request.Append(line).Append("\r\n");
        }

        request.Append("\r\n");
        return request.ToString();
    }

    /// <summary>Makes the reader treat a 101 to the next request as an upgrade: raw requests built by handshake cases.</summary>
    public void ExpectUpgrade(string key, string? extensions)
    {
        _expectedAccept = WebSocketAcceptOf(key);
        _offeredExtensions = extensions;
    }

    /// <summary>Opens the WebSocket on <paramref name="path"/>; returns false (with a violation recorded) if the server did not upgrade properly.</summary>
    public async Task<bool> OpenAsync(string path = "/echo", string? extensions = null)
    {
        string key = Convert.ToBase64String(RandomNumberGenerator.GetBytes(16));
        _expectedAccept = WebSocketAcceptOf(key);
        _offeredExtensions = extensions;
        await SendRequestAsync(BuildRequest(path, extensions, key: key));
        await WaitUntilAsync(() => _headParsed || Observations.TcpClosed, TimeSpan.FromSeconds(5));
        if (Observations.Handshake is not { StatusCode: 101 })
        {
            Observations.Violation($"handshake not accepted: {Observations.Handshake?.StatusLine ?? "no response"}");
            return false;
        }

        return _upgraded;
    }

    /// <summary>Sends handshake bytes as given (valid or not), one write, or one per byte in bytewise mode.</summary>
    public Task SendRequestAsync(string request) => SendRequestAsync(Encoding.ASCII.GetBytes(request));

    public Task SendRequestAsync(byte[] request, int chop = 0, TimeSpan delay = default) => WriteAsync(request, chop, delay);

    /// <summary>Waits for the response head to a raw request; null if none arrived in time.</summary>
    public async Task<HandshakeResponse?> ReadResponseAsync(TimeSpan? timeout = null)
    {
        await WaitUntilAsync(() => _headParsed || Observations.TcpClosed, timeout ?? TimeSpan.FromSeconds(5));
        return Observations.Handshake;
    }

    // R6455-4.2.2-j4: SHA-1 is what the RFC prescribes for the accept value; computed here independently of the library.
#pragma warning disable CA5350
    private static string WebSocketAcceptOf(string key) =>
        Convert.ToBase64String(SHA1.HashData(Encoding.ASCII.GetBytes(key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11")));
#pragma warning restore CA5350

    // ---------------------------------------------------------------- sending

    /// <summary>Sends one frame, optionally chopped into writes of <paramref name="chop"/> bytes with a pause between them.</summary>
    public Task SendFrameAsync(int opcode, byte[] payload, bool fin = true, int rsv = 0, bool mask = true, int chop = 0, TimeSpan delay = default) =>
        SendAsync(Frame.Build(opcode, payload, fin, rsv, mask), chop, delay);

    public Task SendTextAsync(string text) => SendFrameAsync(Op.Text, Encoding.UTF8.GetBytes(text));

    /// <summary>
    /// Sends one data message: split into frames of <paramref name="fragmentSize"/> bytes (0: one frame), deflated first when
    /// <paramref name="compress"/> is set (RSV1 on the first frame only, RFC 7692 section 6.1). All frames go out in one write
    /// unless <paramref name="chop"/> is set.
    /// </summary>
    public Task SendMessageAsync(int opcode, byte[] payload, int fragmentSize = 0, bool compress = false, int chop = 0, TimeSpan delay = default) =>
        SendAsync(BuildMessage(opcode, payload, fragmentSize, compress), chop, delay);

    public byte[] BuildMessage(int opcode, byte[] payload, int fragmentSize = 0, bool compress = false)
    {
        byte[] body = payload;
        if (compress)
        {
            var compressor = _compressor ?? throw new InvalidOperationException("permessage-deflate was not negotiated.");
            var output = new ArrayBufferWriter<byte>(Math.Max(64, payload.Length / 2));
            compressor.Compress(payload, output);
            body = output.WrittenSpan.ToArray();
        }

        if (fragmentSize <= 0 || body.Length <= fragmentSize)
        {
            return Frame.Build(opcode, body, fin: true, rsv: compress ? 4 : 0);
        }

        var frames = new List<byte[]>();
        for (int offset = 0; offset < body.Length; offset += fragmentSize)
        {
            int length = Math.Min(fragmentSize, body.Length - offset);
            bool first = offset == 0;
            bool last = offset + length == body.Length;
            frames.Add(Frame.Build(first ? opcode : Op.Continuation, body.AsSpan(offset, length), last, first && compress ? 4 : 0));
        }

        return Frame.Concat([.. frames]);
    }

    /// <summary>Sends wire bytes as the mode dictates. After the server closed, nothing more is sent (R6455-5.5.1).</summary>
    public Task SendAsync(byte[] wire, int chop = 0, TimeSpan delay = default)
    {
        if (Mode == WriteMode.Coalesced && _upgraded)
        {
            _pending.Write(wire);
            return Task.CompletedTask;
        }

        return WriteAsync(wire, chop, delay);
    }

    /// <summary>A pause the case asks for between sends; coalesced mode sends everything at once, so it skips them.</summary>
    public Task DelayAsync(TimeSpan delay) => Mode == WriteMode.Coalesced ? Task.CompletedTask : Task.Delay(delay);

    /// <summary>Writes out what coalesced mode held back, as one write.</summary>
    public async Task FlushAsync()
    {
        if (_pending.WrittenCount == 0)
        {
            return;
        }

        var bytes = _pending.WrittenSpan.ToArray();
        _pending.Clear();
        await WriteAsync(bytes, 0, default);
    }

    /// <summary>Sends a close frame (flushing first) and marks the close as started by the client.</summary>
    public async Task SendCloseAsync(ushort? code, byte[]? reason = null)
    {
        await FlushAsync();
        Observations.ClientSentClose = true;
        await WriteAsync(Frame.Close(code, reason), 0, default);
    }

    private async Task WriteAsync(byte[] bytes, int chop, TimeSpan delay)
    {
        int step = Mode == WriteMode.Bytewise ? 1 : chop > 0 ? chop : bytes.Length;
        int pauseEvery = chop > 0 ? chop : int.MaxValue;
        for (int offset = 0; offset < bytes.Length; offset += step)
        {
            if (SendingStopped)
            {
                _suppressedBytes += bytes.Length - offset;
                return;
            }

            int length = Math.Min(step, bytes.Length - offset);
            await _writeLock.WaitAsync(_stop.Token);
            try
            {
                await _socket.SendAsync(bytes.AsMemory(offset, length), SocketFlags.None, _stop.Token);
            }
            catch (Exception e) when (e is SocketException or ObjectDisposedException)
            {
                _sendFailed = true;
                Observations.Note($"write failed after {offset} bytes: {e.Message}");
                return;
            }
            finally
            {
                _writeLock.Release();
            }

            int end = offset + length;
            if (delay > TimeSpan.Zero && end < bytes.Length && end % pauseEvery == 0)
            {
                await Task.Delay(delay);
            }
        }
    }

    private void WriteInBackground(byte[] frame) => _ = Task.Run(() => WriteAsync(frame, 0, default));

    // ---------------------------------------------------------------- waiting

    /// <summary>Waits until <paramref name="condition"/> holds or the time runs out; flushes coalesced bytes first.</summary>
    public async Task<bool> WaitUntilAsync(Func<bool> condition, TimeSpan timeout)
    {
        await FlushAsync();
        var clock = Stopwatch.StartNew();
        while (true)
        {
            var changed = Volatile.Read(ref _changed).Task;
            if (condition())
            {
                return true;
            }

            var remaining = timeout - clock.Elapsed;
            if (remaining <= TimeSpan.Zero)
            {
                return false;
            }

            try
            {
                await changed.WaitAsync(remaining);
            }
            catch (TimeoutException)
            {
                return condition();
            }
        }
    }

    public Task<bool> WaitForEventsAsync(int count, TimeSpan? timeout = null) =>
        WaitUntilAsync(() => Observations.EventCount >= count || Observations.CloseReceived || Observations.TcpClosed, timeout ?? Wait);

    public Task<bool> WaitForCloseAsync(TimeSpan? timeout = null) =>
        WaitUntilAsync(() => Observations.CloseReceived || Observations.TcpClosed, timeout ?? Wait);

    public Task<bool> WaitForTcpCloseAsync(TimeSpan? timeout = null) => WaitUntilAsync(() => Observations.TcpClosed, timeout ?? Wait);

    /// <summary>The next event not yet consumed, or null if none arrives in time.</summary>
    public async Task<ServerEvent?> NextEventAsync(TimeSpan? timeout = null)
    {
        int index = Observations.Consumed;
        await WaitUntilAsync(() => Observations.EventCount > index || Observations.CloseReceived || Observations.TcpClosed, timeout ?? Wait);
        var next = Observations.EventAt(index);
        if (next is not null)
        {
            Observations.Consumed = index + 1;
        }

        return next;
    }

    /// <summary>Sends one message and checks the next event is its byte-exact echo; a mismatch is recorded as a violation.</summary>
    public async Task<bool> RoundTripAsync(int opcode, byte[] payload, int fragmentSize = 0, bool compress = false, TimeSpan? timeout = null)
    {
        await SendMessageAsync(opcode, payload, fragmentSize, compress);
        var echo = await NextEventAsync(timeout ?? TimeSpan.FromSeconds(10));
        var expected = new ServerEvent(opcode == Op.Text ? EventKind.Text : EventKind.Binary, payload);
        if (echo is null)
        {
            Observations.Violation($"no echo of a {payload.Length}-byte message ({Observations.CloseSummary()})");
            return false;
        }

        if (!echo.SameAs(expected))
        {
            Observations.Violation($"echo differs: sent {expected}, got {echo}");
            return false;
        }

        return true;
    }

    // ---------------------------------------------------------------- receiving

    private void Signal() => Interlocked.Exchange(ref _changed, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).TrySetResult();

    private async Task ReceiveLoopAsync()
    {
        try
        {
            while (true)
            {
                EnsureSpace(4096);
                int read = await _socket.ReceiveAsync(_in.AsMemory(_inEnd), SocketFlags.None, _stop.Token);
                if (read == 0)
                {
                    Observations.TcpEnded(reset: false);
                    return;
                }

                _inEnd += read;
                Parse();
                Signal();
            }
        }
        catch (OperationCanceledException)
        {
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException)
        {
            Observations.TcpEnded(reset: true);
        }
        catch (Exception e)
        {
            Observations.Violation($"client reader failed: {e.GetType().Name}: {e.Message}");
            Observations.TcpEnded(reset: false);
        }
        finally
        {
            Signal();
        }
    }

    private void EnsureSpace(int atLeast)
    {
        if (_inStart == _inEnd)
        {
            _inStart = _inEnd = 0;
        }

        if (_in.Length - _inEnd >= atLeast)
        {
            return;
        }

        int used = _inEnd - _inStart;
        if (_inStart > 0 && _in.Length - used >= atLeast)
        {
            Buffer.BlockCopy(_in, _inStart, _in, 0, used);
        }
        else
        {
            var bigger = new byte[Math.Max(_in.Length * 2, used + atLeast)];
            Buffer.BlockCopy(_in, _inStart, bigger, 0, used);
            _in = bigger;
        }

        _inStart = 0;
        _inEnd = used;
    }

    private void Parse()
    {
        if (!_headParsed)
        {
            int end = _in.AsSpan(_inStart, _inEnd - _inStart).IndexOf("\r\n\r\n"u8);
            if (end < 0)
            {
                return;
            }

            ParseHead(Encoding.Latin1.GetString(_in, _inStart, end));
            _inStart += end + 4;
            _headParsed = true;
        }

        if (_upgraded)
        {
            ParseFrames();
        }
    }

    private void ParseHead(string head)
    {
        var lines = head.Split("\r\n");
        var parts = lines[0].Split(' ', 3);
        int status = parts.Length >= 2 && int.TryParse(parts[1], out var code) ? code : 0;
        var headers = new List<KeyValuePair<string, string>>();
        foreach (var line in lines.Skip(1))
        {
            int colon = line.IndexOf(':');
            if (colon > 0)
            {
                headers.Add(new(line[..colon].Trim(), line[(colon + 1)..].Trim()));
            }
        }

        var response = new HandshakeResponse(lines[0], status, headers);
        Observations.Handshake = response;
        if (status != 101 || _expectedAccept is null)
        {
            return;
        }

        // R6455-4.2.2-j1..j4 and R6455-11.3-d: the 101 must carry these exactly; a client fails otherwise (R6455-4.1-ad..af).
        if (!response.Values("Upgrade").Any(v => v.Equals("websocket", StringComparison.OrdinalIgnoreCase)))
        {
            Observations.Violation("101 without Upgrade: websocket (R6455-4.2.2-j2)");
        }

        if (!response.Values("Connection").Any(v => v.Split(',').Any(t => t.Trim().Equals("Upgrade", StringComparison.OrdinalIgnoreCase))))
        {
            Observations.Violation("101 without Connection: Upgrade (R6455-4.2.2-j3)");
        }

        if (response.Single("Sec-WebSocket-Accept") != _expectedAccept)
        {
            Observations.Violation($"Sec-WebSocket-Accept wrong or repeated (R6455-4.2.2-j4, R6455-11.3-d): {string.Join(" | ", response.Values("Sec-WebSocket-Accept"))}");
        }

        if (response.Count("Sec-WebSocket-Protocol") > 0)
        {
            Observations.Violation("Sec-WebSocket-Protocol sent although none was offered (R6455-4.2.2-g)");
        }

        NegotiateDeflate(response);
        _upgraded = true;
    }

    private void NegotiateDeflate(HandshakeResponse response)
    {
        var accepted = response.Values("Sec-WebSocket-Extensions").ToList();
        if (accepted.Count == 0)
        {
            return;
        }

        if (accepted.Count > 1)
        {
            Observations.Violation("Sec-WebSocket-Extensions repeated in the response (R6455-11.3-c)");
        }

        if (_offeredExtensions is null)
        {
            Observations.Violation($"extension accepted that was never offered (R6455-4.2.2-i): {accepted[0]}");
            return;
        }

        var extensions = string.Join(",", accepted).Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
        if (extensions.Length != 1)
        {
            Observations.Violation($"more than one extension accepted: {string.Join(" | ", accepted)}");
            return;
        }

        var tokens = extensions[0].Split(';', StringSplitOptions.TrimEntries);
        if (!tokens[0].Equals("permessage-deflate", StringComparison.OrdinalIgnoreCase))
        {
            Observations.Violation($"unknown extension accepted (R6455-4.2.2-h): {tokens[0]}");
            return;
        }

        var offered = OfferedParameters();
        bool serverNoContext = false, clientNoContext = false;
        int? serverBits = null, clientBits = null;
        var seen = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        foreach (var token in tokens.Skip(1))
        {
            var pair = token.Split('=', 2, StringSplitOptions.TrimEntries);
            string name = pair[0];
            string? value = pair.Length == 2 ? pair[1].Trim('"') : null;
            if (!seen.Add(name))
            {
                Observations.Violation($"parameter {name} repeated in the response (R7692-7-b)");
            }

            switch (name.ToLowerInvariant())
            {
                case "server_no_context_takeover" when value is null:
                    serverNoContext = true;
                    break;
                case "client_no_context_takeover" when value is null:
                    clientNoContext = true;
                    break;
                case "server_max_window_bits":
                    serverBits = WindowBits(value, name);
                    break;
                case "client_max_window_bits":
                    // R7692-7.1.2.2-b/c: only in answer to an offer that had it, and always with a value.
                    if (!offered.ContainsKey("client_max_window_bits"))
                    {
                        Observations.Violation("client_max_window_bits in the response although the offer lacked it (R7692-7.1.2.2-c)");
                    }

                    clientBits = WindowBits(value, name);
                    break;
                default:
                    Observations.Violation($"invalid parameter in the response (R7692-7-b): {token}");
                    break;
            }
        }

        // R7692-7.1.1.1 and 7.1.2.1: accepting an offer with server_no_context_takeover or server_max_window_bits means
        // answering with it (the window no larger than offered).
        if (offered.ContainsKey("server_no_context_takeover") && !serverNoContext)
        {
            Observations.Violation("offer had server_no_context_takeover but the response lacks it (R7692-7.1.1.1)");
        }

        if (offered.TryGetValue("server_max_window_bits", out var offeredBits) && int.TryParse(offeredBits, out int limit)
            && (serverBits is null || serverBits > limit))
        {
            Observations.Violation($"server_max_window_bits answered {serverBits?.ToString() ?? "not at all"} to an offer of {limit} (R7692-7.1.2.1-b)");
        }

        var parameters = new PerMessageDeflateParameters(serverNoContext, clientNoContext, serverBits ?? 15, clientBits ?? 15);
        Deflate = parameters;
        _compressor = new PerMessageDeflateCompressor(parameters, 6, WebSocketRole.Client);
        _decompressor = new PerMessageDeflateDecompressor(parameters, MaxServerFrame, WebSocketRole.Client);
    }

    private Dictionary<string, string> OfferedParameters()
    {
        // The first permessage-deflate offer's parameters; cases that send several offers accept any of them below.
        var result = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        var offers = (_offeredExtensions ?? "").Split(',', StringSplitOptions.TrimEntries);
        var matching = offers.Select(o => o.Split(';', StringSplitOptions.TrimEntries)).Where(t => t[0] == "permessage-deflate").ToList();
        if (matching.Count != 1)
        {
            return result;
        }

        foreach (var token in matching[0].Skip(1))
        {
            var pair = token.Split('=', 2, StringSplitOptions.TrimEntries);
            result[pair[0]] = pair.Length == 2 ? pair[1] : "";
        }

        return result;
    }

    private int WindowBits(string? value, string name)
    {
        // R7692-7.1.2.1-b / 7.1.2.2-b: a decimal 8..15 without leading zeros.
        if (value is null || value.Length is < 1 or > 2 || value[0] == '0' || !int.TryParse(value, out int bits) || bits is < 8 or > 15)
        {
            Observations.Violation($"{name} has an invalid value in the response: '{value}'");
            return 15;
        }

        return bits;
    }

    private void ParseFrames()
    {
        while (!Observations.TcpClosed)
        {
            int available = _inEnd - _inStart;
            if (available < 2)
            {
                return;
            }

            var span = _in.AsSpan(_inStart, available);
            bool fin = (span[0] & 0x80) != 0;
            int rsv = (span[0] >> 4) & 7;
            int opcode = span[0] & 0xF;
            bool masked = (span[1] & 0x80) != 0;
            long length = span[1] & 0x7F;
            int headerLength = 2;
            if (length == 126)
            {
                if (available < 4)
                {
                    return;
                }

                length = BinaryPrimitives.ReadUInt16BigEndian(span[2..]);
                headerLength = 4;
                if (length < 126)
                {
                    Observations.Violation("server used a non-minimal 16-bit length (R6455-5.2)");
                }
            }
            else if (length == 127)
            {
                if (available < 10)
                {
                    return;
                }

                ulong raw = BinaryPrimitives.ReadUInt64BigEndian(span[2..]);
                headerLength = 10;
                if (raw > (ulong)MaxServerFrame)
                {
                    Observations.Violation($"server frame of {raw} bytes: beyond what any case provokes");
                    _upgraded = false;
                    return;
                }

                length = (long)raw;
                if (length <= ushort.MaxValue)
                {
                    Observations.Violation("server used a non-minimal 64-bit length (R6455-5.2)");
                }
            }

            if (masked)
            {
                headerLength += 4;
            }

            if (available < headerLength + length)
            {
                EnsureSpace((int)(headerLength + length - available));
                return;
            }

            var payload = span.Slice(headerLength, (int)length).ToArray();
            if (masked)
            {
                Observations.Violation("server sent a masked frame (R6455-5.1-c)");
                uint key = BitConverter.ToUInt32(span.Slice(headerLength - 4, 4));
                WebSocketMask.Apply(payload, key, 0);
            }

            _inStart += headerLength + (int)length;
            OnFrame(fin, rsv, opcode, payload);
        }
    }

    private void OnFrame(bool fin, int rsv, int opcode, byte[] payload)
    {
        bool rsv1 = (rsv & 4) != 0;
        if ((rsv & 3) != 0)
        {
            Observations.Violation($"server set RSV2/RSV3 (R6455-5.2-a): opcode {opcode}");
        }

        if (opcode >= 8)
        {
            if (!fin || payload.Length > 125 || rsv1)
            {
                Observations.Violation($"server sent an invalid control frame (R6455-5.5): opcode {opcode}, fin {fin}, {payload.Length} B, rsv1 {rsv1}");
            }
        }

        switch (opcode)
        {
            case Op.Text or Op.Binary:
                if (_message is not null)
                {
                    Observations.Violation("server started a message inside another (R6455-5.4)");
                }

                if (rsv1 && _decompressor is null)
                {
                    Observations.Violation("server set RSV1 without permessage-deflate (R6455-5.2-a)");
                }

                _message = new ArrayBufferWriter<byte>(Math.Max(256, payload.Length));
                _messageOpcode = opcode;
                _messageCompressed = rsv1 && _decompressor is not null;
                _messageFrames = 0;
                AppendFragment(fin, payload);
                break;
            case Op.Continuation:
                if (_message is null)
                {
                    Observations.Violation("server sent a continuation frame outside a message (R6455-5.4)");
                    return;
                }

                if (rsv1)
                {
                    Observations.Violation("server set RSV1 on a continuation frame (R7692-6.1)");
                }

                AppendFragment(fin, payload);
                break;
            case Op.Ping:
                Observations.ServerPings++;
                if (!Observations.ClientSentClose && !Observations.CloseReceived)
                {
                    WriteInBackground(Frame.Build(Op.Pong, payload));
                }

                break;
            case Op.Pong:
                Observations.AddEvent(ServerEvent.Pong(payload));
                break;
            case Op.Close:
                OnClose(payload);
                break;
            default:
                Observations.Violation($"server sent reserved opcode {opcode} (R6455-5.2)");
                break;
        }
    }

    private void AppendFragment(bool fin, byte[] payload)
    {
        if (_message is null)
        {
            return;
        }

        _message.Write(payload);
        _messageFrames++;
        if (!fin)
        {
            return;
        }

        byte[] data = _message.WrittenSpan.ToArray();
        if (_messageCompressed)
        {
            var inflated = new ArrayBufferWriter<byte>(Math.Max(256, data.Length * 4));
            var status = _decompressor!.DecompressMessage(data, inflated);
            if (status != DecompressionStatus.Done)
            {
                Observations.Violation($"server sent an undecodable compressed message: {status} (R7692-7.2.1)");
            }

            data = inflated.WrittenSpan.ToArray();
        }

        if (_messageOpcode == Op.Text && !Utf8.IsValid(data))
        {
            Observations.Violation("server sent a text message that is not UTF-8 (R6455-5.6)");
        }

        Observations.AddEvent(new ServerEvent(_messageOpcode == Op.Text ? EventKind.Text : EventKind.Binary, data, _messageCompressed, _messageFrames));
        _message = null;
    }

    private void OnClose(byte[] payload)
    {
        if (Observations.CloseReceived)
        {
            Observations.Violation("server sent a second close frame (R6455-5.5.1)");
            return;
        }

        if (payload.Length == 1)
        {
            Observations.Violation("server close frame has a 1-byte body (R6455-5.5.1)");
        }
        else if (payload.Length >= 2)
        {
            ushort code = BinaryPrimitives.ReadUInt16BigEndian(payload);
            if (!CloseStatusRules.IsValidOnWire(code))
            {
                Observations.Violation($"server sent close code {code}, which is not valid on the wire (R6455-7.4)");
            }

            if (!Utf8.IsValid(payload.AsSpan(2)))
            {
                Observations.Violation("server close reason is not UTF-8 (R6455-5.5.1)");
            }
        }

        if (_message is not null)
        {
            Observations.Note("server closed in the middle of a fragmented message");
        }

        Observations.Closed(payload);
        if (!Observations.ClientSentClose)
        {
            // R6455-5.5.1: answer a close with a close, echoing the status code (none if the server sent none).
            Observations.ClientSentClose = true;
            var reply = Frame.Close(payload.Length >= 2 ? BinaryPrimitives.ReadUInt16BigEndian(payload) : null);
            _ = Task.Run(async () =>
            {
                await _writeLock.WaitAsync();
                try
                {
                    await _socket.SendAsync(reply, SocketFlags.None);
                }
                catch (Exception e) when (e is SocketException or ObjectDisposedException)
                {
                }
                finally
                {
                    _writeLock.Release();
                }
            });
        }
    }

    public string Summary() =>
        $"{Observations.CloseSummary()}; events [{string.Join(", ", Observations.Events)}]" +
        (_suppressedBytes > 0 ? $"; {_suppressedBytes} bytes left unsent after the server closed" : "") +
        (Observations.Notes.Count > 0 ? "; " + string.Join("; ", Observations.Notes) : "");

    public async ValueTask DisposeAsync()
    {
        _stop.Cancel();
        try
        {
            _socket.Shutdown(SocketShutdown.Both);
        }
        catch (SocketException)
        {
        }

        _socket.Dispose();
        await _receiveLoop.WaitAsync(TimeSpan.FromSeconds(5)).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        _compressor?.Dispose();
        _decompressor?.Dispose();
        _stop.Dispose();
        _writeLock.Dispose();
    }
}
