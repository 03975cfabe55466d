using System.Buffers;
using System.Buffers.Binary;
using System.IO.Pipelines;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Shockwave.Protocol;
using Shockwave.Protocol.Handshake;

namespace Shockwave.Middleware.Tests.Support;

/// <summary>A response head as it came off the wire.</summary>
internal sealed record RawHttpResponse(int StatusCode, string StatusLine, IReadOnlyList<KeyValuePair<string, string>> Headers)
{
    /// <summary>Every value of a header, one entry per header line (names compared ignoring case).</summary>
    public IReadOnlyList<string> All(string name) =>
        [.. Headers.Where(h => string.Equals(h.Key, name, StringComparison.OrdinalIgnoreCase)).Select(h => h.Value)];

    /// <summary>The header's single value, or null when absent.</summary>
    public string? Header(string name) => All(name) switch
    {
        [] => null,
        [var one] => one,
        var many => throw new InvalidOperationException($"Header {name} appears {many.Count} times."),
    };
}

/// <summary>One frame received from the server. Data frames report their own opcode (continuation after the first).</summary>
internal sealed record RawFrame(WebSocketOpcode Opcode, bool Fin, byte[] Payload)
{
    public ushort? CloseCode => Opcode == WebSocketOpcode.Close && Payload.Length >= 2 ? BinaryPrimitives.ReadUInt16BigEndian(Payload) : null;

    public string CloseReason => Opcode == WebSocketOpcode.Close && Payload.Length > 2 ? Encoding.UTF8.GetString(Payload, 2, Payload.Length - 2) : "";

    public string Text => Encoding.UTF8.GetString(Payload);

    public override string ToString() => $"{Opcode} fin={Fin} len={Payload.Length}{(CloseCode is { } code ? $" code={code} '{CloseReason}'" : "")}";
}

/// <summary>How the server ended the TCP connection.</summary>
internal enum ConnectionEnd
{
    /// <summary>A clean FIN: the read returned end of stream.</summary>
    Eof,

    /// <summary>A reset (or an error that means the same).</summary>
    Reset,
}

/// <summary>
/// A WebSocket client on a plain TCP socket, for what <see cref="System.Net.WebSockets.ClientWebSocket"/> will not do:
/// hand-written handshakes, unmasked or reserved frames, invalid UTF-8, watching the exact frames and the TCP end.
/// Frames are written with <see cref="WebSocketFrameWriter"/> and read with <see cref="WebSocketFrameReader"/>, client role.
/// </summary>
internal sealed class RawWebSocketClient : IAsyncDisposable
{
    private static readonly byte[] HeadEnd = "\r\n\r\n"u8.ToArray();

    private readonly Socket _socket;
    private readonly NetworkStream _stream;
    private readonly PipeReader _input;
    private readonly WebSocketFrameReader _frames = new(WebSocketRole.Client, new FrameReaderOptions
    {
        MaxFramePayloadLength = 64 * 1024 * 1024,
        MaxMessageSize = 64 * 1024 * 1024,
        MaxFragmentsPerMessage = 1 << 20,
    });

    private RawWebSocketClient(Socket socket)
    {
        _socket = socket;
        _stream = new NetworkStream(socket, ownsSocket: true);
        _input = PipeReader.Create(_stream, new StreamPipeReaderOptions(leaveOpen: true));
    }

    public RawHttpResponse? Handshake { get; private set; }

    /// <summary>
    /// Opens a TCP connection to 127.0.0.1:<paramref name="port"/> and sends nothing. A small <paramref name="receiveBufferSize"/>
    /// (SO_RCVBUF, set before connecting so the window is negotiated with it) makes a client that never reads stall soon.
    /// </summary>
    public static async Task<RawWebSocketClient> OpenAsync(int port, int? receiveBufferSize = null)
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        if (receiveBufferSize is { } size)
        {
            socket.ReceiveBufferSize = size;
        }

        try
        {
            await socket.ConnectAsync(new IPEndPoint(IPAddress.Loopback, port)).WaitAsync(Eventually.DefaultTimeout);
        }
        catch
        {
            socket.Dispose();
            throw;
        }

        return new RawWebSocketClient(socket);
    }

    /// <summary>Connects and performs a valid upgrade to <paramref name="path"/>; fails unless the answer is a correct 101.</summary>
    public static Task<RawWebSocketClient> ConnectAsync(int port, string path, params (string Name, string? Value)[] headers) =>
        ConnectAsync(port, path, receiveBufferSize: null, headers);

    /// <summary>Connects with the given SO_RCVBUF and upgrades to <paramref name="path"/>.</summary>
    public static async Task<RawWebSocketClient> ConnectAsync(int port, string path, int? receiveBufferSize, params (string Name, string? Value)[] headers)
    {
        string key = WebSocketAccept.CreateClientKey();
        var client = await OpenAsync(port, receiveBufferSize);
        try
        {
            var response = await client.SendRequestAsync(BuildRequest(port, path, "GET", [("Sec-WebSocket-Key", key), .. headers]));
            if (response.StatusCode != 101)
            {
                throw new InvalidOperationException($"Expected 101, got {response.StatusLine}.");
            }

            // R6455-4.2.2-j4: the accept key proves the server read our key.
            Assert.Equal(WebSocketAccept.ComputeAccept(key), response.Header("Sec-WebSocket-Accept"));
            return client;
        }
        catch
        {
            await client.DisposeAsync();
            throw;
        }
    }

    /// <summary>
    /// A request head: a valid WebSocket upgrade by default. Each (name, value) pair replaces the default header of that
    /// name (a null value removes it) or adds a new one; the same name given twice yields two header lines.
    /// </summary>
    public static string BuildRequest(int port, string path, string method = "GET", params (string Name, string? Value)[] headers)
    {
        List<(string Name, string? Value)> lines =
        [
            ("Host", $"127.0.0.1:{port}"),
            ("Upgrade", "websocket"),
            ("Connection", "Upgrade"),
            ("Sec-WebSocket-Key", WebSocketAccept.CreateClientKey()),
            ("Sec-WebSocket-Version", "13"),
        ];
        var replaced = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        foreach (var (name, value) in headers)
        {
            if (replaced.Add(name))
            {
                lines.RemoveAll(l => string.Equals(l.Name, name, StringComparison.OrdinalIgnoreCase));
            }

            lines.Add((name, value));
        }

        var head = new StringBuilder($"{method} {path} HTTP/1.1\r\n");
        foreach (var (name, value) in lines)
        {
            if (value is not null)
            {
                head.Append(name).Append(": ").Append(value).Append("\r\n");
            }
        }

        return head.Append("\r\n").ToString();
    }

    /// <summary>Sends a request head and reads the response head.</summary>
    public async Task<RawHttpResponse> SendRequestAsync(string head)
    {
        await SendRawAsync(Encoding.ASCII.GetBytes(head));
        Handshake = await ReadResponseHeadAsync();
        return Handshake;
    }

    /// <summary>Sends one frame, masked with a fresh key unless <paramref name="masked"/> is false.</summary>
    /// <param name="opcode">Any opcode, reserved ones included.</param>
    /// <param name="payload">The unmasked payload.</param>
    /// <param name="fin">The FIN bit.</param>
    /// <param name="masked">False sends an unmasked frame, which a server must refuse.</param>
    /// <param name="extraBits">Bits OR-ed into the first header byte (RSV1 0x40, RSV2 0x20, RSV3 0x10).</param>
    public Task SendFrameAsync(WebSocketOpcode opcode, ReadOnlySpan<byte> payload, bool fin = true, bool masked = true, byte extraBits = 0)
    {
        var buffer = new ArrayBufferWriter<byte>(payload.Length + WebSocketFrameWriter.MaxHeaderLength);
        WebSocketFrameWriter.WriteFrame(buffer, opcode, fin, rsv1: false, payload, masked ? WebSocketFrameWriter.NewMaskKey() : null);
        byte[] bytes = buffer.WrittenSpan.ToArray();
        bytes[0] |= extraBits;
        return SendRawAsync(bytes);
    }

    public Task SendTextAsync(string text, bool fin = true) => SendFrameAsync(WebSocketOpcode.Text, Encoding.UTF8.GetBytes(text), fin);

    public Task SendPingAsync(string payload) => SendFrameAsync(WebSocketOpcode.Ping, Encoding.UTF8.GetBytes(payload));

    public Task SendCloseAsync(ushort? code, string reason = "")
    {
        var buffer = new ArrayBufferWriter<byte>();
        WebSocketFrameWriter.WriteClose(buffer, WebSocketRole.Client, (WebSocketCloseStatus?)code, reason);
        return SendRawAsync(buffer.WrittenMemory);
    }

    public async Task SendRawAsync(ReadOnlyMemory<byte> bytes)
    {
        using var timeout = new CancellationTokenSource(Eventually.DefaultTimeout);
        await _stream.WriteAsync(bytes, timeout.Token);
    }

    /// <summary>The next frame; throws when the connection ends first or nothing arrives in time.</summary>
    public async Task<RawFrame> ReceiveFrameAsync(TimeSpan? timeout = null) =>
        await TryReceiveFrameAsync(timeout) ?? throw new EndOfStreamException("The server closed the connection instead of sending a frame.");

    /// <summary>The next frame, or null at a clean end of stream.</summary>
    public async Task<RawFrame?> TryReceiveFrameAsync(TimeSpan? timeout = null)
    {
        using var cts = new CancellationTokenSource(timeout ?? Eventually.DefaultTimeout);
        try
        {
            return await ReceiveFrameCoreAsync(cts.Token);
        }
        catch (OperationCanceledException) when (cts.IsCancellationRequested)
        {
            throw new TimeoutException("No frame arrived in time.");
        }
    }

    /// <summary>Reads the frames of one data message (text or binary plus continuations) and joins them.</summary>
    public async Task<(WebSocketOpcode Opcode, byte[] Payload, int Frames)> ReceiveMessageAsync(TimeSpan? timeout = null)
    {
        var first = await ReceiveFrameAsync(timeout);
        if (first.Opcode is not (WebSocketOpcode.Text or WebSocketOpcode.Binary))
        {
            throw new InvalidOperationException($"Expected a data frame, got {first}.");
        }

        var payload = new List<byte>(first.Payload);
        int frames = 1;
        var last = first;
        while (!last.Fin)
        {
            last = await ReceiveFrameAsync(timeout);
            if (last.Opcode != WebSocketOpcode.Continuation)
            {
                throw new InvalidOperationException($"Expected a continuation frame, got {last}.");
            }

            payload.AddRange(last.Payload);
            frames++;
        }

        return (first.Opcode, payload.ToArray(), frames);
    }

    /// <summary>Waits until at least <paramref name="count"/> bytes have arrived, without consuming them.</summary>
    public async Task WaitForBytesAsync(int count)
    {
        using var timeout = new CancellationTokenSource(Eventually.DefaultTimeout);
        while (true)
        {
            var result = await _input.ReadAsync(timeout.Token);
            if (result.Buffer.Length >= count || result.IsCompleted)
            {
                _input.AdvanceTo(result.Buffer.Start);
                return;
            }

            _input.AdvanceTo(result.Buffer.Start, result.Buffer.End);
        }
    }

    /// <summary>Expects the server to end the TCP connection with no further frame; says how it ended.</summary>
    public async Task<ConnectionEnd> ExpectEndAsync(TimeSpan? timeout = null)
    {
        try
        {
            var frame = await TryReceiveFrameAsync(timeout);
            return frame is null ? ConnectionEnd.Eof : throw new InvalidOperationException($"Expected the connection to end, got {frame}.");
        }
        catch (IOException)
        {
            return ConnectionEnd.Reset;
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _input.CompleteAsync();
        await _stream.DisposeAsync();
    }

    private async Task<RawFrame?> ReceiveFrameCoreAsync(CancellationToken cancellationToken)
    {
        ArrayBufferWriter<byte>? data = null;
        var dataOpcode = WebSocketOpcode.Continuation;
        while (true)
        {
            var result = await _input.ReadAsync(cancellationToken);
            var buffer = result.Buffer;
            while (true)
            {
                var status = _frames.Read(ref buffer, out var segment, out var error);
                if (status == FrameReadStatus.NeedMoreData)
                {
                    break;
                }

                if (status == FrameReadStatus.Error)
                {
                    throw new InvalidDataException($"The server sent an invalid frame: {error}.");
                }

                if (status == FrameReadStatus.ControlFrame)
                {
                    var control = new RawFrame(segment.Opcode, true, segment.Payload.ToArray());
                    _input.AdvanceTo(buffer.Start);
                    return control;
                }

                if (data is null)
                {
                    data = new ArrayBufferWriter<byte>();
                    dataOpcode = segment.IsMessageStart ? segment.Opcode : WebSocketOpcode.Continuation;
                }

                foreach (var memory in segment.Payload)
                {
                    data.Write(memory.Span);
                }

                if (segment.IsFrameEnd)
                {
                    _input.AdvanceTo(buffer.Start);
                    return new RawFrame(dataOpcode, segment.IsMessageEnd, data.WrittenSpan.ToArray());
                }
            }

            _input.AdvanceTo(buffer.Start, buffer.End);
            if (result.IsCompleted)
            {
                return data is null && buffer.IsEmpty ? null : throw new EndOfStreamException("The connection ended in the middle of a frame.");
            }
        }
    }

    private async Task<RawHttpResponse> ReadResponseHeadAsync()
    {
        using var timeout = new CancellationTokenSource(Eventually.DefaultTimeout);
        while (true)
        {
            var result = await _input.ReadAsync(timeout.Token);
            var reader = new SequenceReader<byte>(result.Buffer);
            if (reader.TryReadTo(out ReadOnlySequence<byte> head, HeadEnd))
            {
                var response = ParseHead(Encoding.ASCII.GetString(head));
                _input.AdvanceTo(reader.Position);
                return response;
            }

            _input.AdvanceTo(result.Buffer.Start, result.Buffer.End);
            if (result.IsCompleted)
            {
                throw new EndOfStreamException("The connection ended before a complete response head.");
            }
        }
    }

    private static RawHttpResponse ParseHead(string head)
    {
        var lines = head.Split("\r\n");
        var statusParts = lines[0].Split(' ', 3);
        var headers = new List<KeyValuePair<string, string>>();
        foreach (var line in lines.Skip(1))
        {
            int colon = line.IndexOf(':');
            headers.Add(new(line[..colon].Trim(), line[(colon + 1)..].Trim()));
        }

        return new RawHttpResponse(int.Parse(statusParts[1]), lines[0], headers);
    }
}
