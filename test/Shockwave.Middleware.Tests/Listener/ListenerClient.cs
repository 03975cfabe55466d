using System.Buffers;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Shockwave.Protocol;
using Shockwave.Protocol.Handshake;

namespace Shockwave.Middleware.Tests.Listener;

/// <summary>
/// A raw TCP client for the listener: writes exact request bytes, reads the response head with the protocol core's
/// parser (which leaves any bytes after it buffered), then speaks masked client frames. Every read is bounded by
/// <see cref="ListenerHost.Timeout"/>.
/// </summary>
internal sealed class ListenerClient : IAsyncDisposable
{
    /// <summary>The RFC 6455 section 1.3 sample key and its accept value.</summary>
    public const string SampleKey = "dGhlIHNhbXBsZSBub25jZQ==";
    public const string SampleAccept = "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=";

    private readonly Socket _socket;
    private readonly WebSocketFrameReader _frames = new(WebSocketRole.Client, new FrameReaderOptions());
    private byte[] _buffer = new byte[16 * 1024];
    private int _count;

    private ListenerClient(Socket socket) => _socket = socket;

    public static async Task<ListenerClient> ConnectAsync(int port)
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        using var timeout = new CancellationTokenSource(ListenerHost.Timeout);
        await socket.ConnectAsync(new IPEndPoint(IPAddress.Loopback, port), timeout.Token);
        return new ListenerClient(socket);
    }

    /// <summary>
    /// A valid upgrade request head; each override replaces the header of that name (a null value removes it), and
    /// headers not in the defaults are appended in order, so repeats are possible.
    /// </summary>
    public static string UpgradeRequest(string target = "/echo", string method = "GET", string version = "HTTP/1.1", params (string Name, string? Value)[] overrides)
    {
        var headers = new List<(string Name, string? Value)>
        {
            ("Host", "127.0.0.1"),
            ("Upgrade", "websocket"),
            ("Connection", "Upgrade"),
            ("Sec-WebSocket-Key", SampleKey),
            ("Sec-WebSocket-Version", "13"),
        };
        var replaced = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        foreach (var (name, value) in overrides)
        {
            int index = headers.FindIndex(h => string.Equals(h.Name, name, StringComparison.OrdinalIgnoreCase));
            if (index >= 0 && replaced.Add(name))
            {
                headers[index] = (name, value);
            }
            else
            {
                headers.Add((name, value));
            }
        }

        var text = new StringBuilder($"{method} {target} {version}\r\n");
        foreach (var (name, value) in headers)
        {
            if (value is not null)
            {
                text.Append(name).Append(": ").Append(value).Append("\r\n");
            }
        }

        return text.Append("\r\n").ToString();
    }

    /// <summary>A masked client frame (RFC 6455 section 5.3).</summary>
    public static byte[] Frame(WebSocketOpcode opcode, ReadOnlySpan<byte> payload, bool fin = true)
    {
        var writer = new ArrayBufferWriter<byte>();
        WebSocketFrameWriter.WriteFrame(writer, WebSocketRole.Client, opcode, fin, rsv1: false, payload);
        return writer.WrittenSpan.ToArray();
    }

    public static byte[] TextFrame(string text) => Frame(WebSocketOpcode.Text, Encoding.UTF8.GetBytes(text));

    public static byte[] CloseFrame(WebSocketCloseStatus status)
    {
        var writer = new ArrayBufferWriter<byte>();
        WebSocketFrameWriter.WriteClose(writer, WebSocketRole.Client, status, "");
        return writer.WrittenSpan.ToArray();
    }

    public Task SendAsync(string ascii) => SendAsync(Encoding.ASCII.GetBytes(ascii));

    public async Task SendAsync(ReadOnlyMemory<byte> bytes)
    {
        using var timeout = new CancellationTokenSource(ListenerHost.Timeout);
        await _socket.SendAsync(bytes, SocketFlags.None, timeout.Token);
    }

    public async Task<Http1ResponseHead> ReadResponseHeadAsync()
    {
        var parser = new Http1ResponseHeadParser();
        while (true)
        {
            var buffer = new ReadOnlySequence<byte>(_buffer, 0, _count);
            var status = parser.TryParse(ref buffer, out var head, out var error);
            if (status == Http1ParseStatus.Done)
            {
                Consume(_count - (int)buffer.Length);
                return head!;
            }

            Assert.True(status == Http1ParseStatus.NeedMoreData, $"Malformed response head: {status} {error}.");
            Assert.True(await FillAsync(), "The server closed the connection before a complete response head.");
        }
    }

    /// <summary>The next whole data message or control frame from the server.</summary>
    public async Task<ListenerFrame> ReceiveAsync()
    {
        var message = new ArrayBufferWriter<byte>();
        var opcode = WebSocketOpcode.Continuation;
        while (true)
        {
            var buffer = new ReadOnlySequence<byte>(_buffer, 0, _count);
            long before = buffer.Length;
            var status = _frames.Read(ref buffer, out var segment, out var error);
            int consumed = (int)(before - buffer.Length);
            switch (status)
            {
                case FrameReadStatus.ControlFrame:
                    var control = new ListenerFrame(segment.Opcode, segment.Payload.ToArray());
                    Consume(consumed);
                    return control;
                case FrameReadStatus.MessagePayload:
                    opcode = segment.Opcode;
                    foreach (var memory in segment.Payload)
                    {
                        message.Write(memory.Span);
                    }

                    Consume(consumed);
                    if (segment.IsMessageEnd)
                    {
                        return new ListenerFrame(opcode, message.WrittenSpan.ToArray());
                    }

                    break;
                case FrameReadStatus.NeedMoreData:
                    Consume(consumed);
                    Assert.True(await FillAsync(), "The server closed the connection before a complete frame.");
                    break;
                default:
                    Assert.Fail($"The server broke the protocol: {error}.");
                    break;
            }
        }
    }

    /// <summary>
    /// Reads until the server closes the connection, bounded. Returns the bytes received after whatever was already
    /// consumed; a reset counts as closed.
    /// </summary>
    public async Task<byte[]> ReadToEndAsync()
    {
        try
        {
            while (await FillAsync())
            {
            }
        }
        catch (SocketException)
        {
        }

        var rest = _buffer.AsSpan(0, _count).ToArray();
        _count = 0;
        return rest;
    }

    public ValueTask DisposeAsync()
    {
        _socket.Dispose();
        return ValueTask.CompletedTask;
    }

    private async Task<bool> FillAsync()
    {
        if (_count == _buffer.Length)
        {
            Array.Resize(ref _buffer, _buffer.Length * 2);
        }

        using var timeout = new CancellationTokenSource(ListenerHost.Timeout);
        int read = await _socket.ReceiveAsync(_buffer.AsMemory(_count), SocketFlags.None, timeout.Token);
        _count += read;
        return read > 0;
    }

    private void Consume(int count)
    {
        Buffer.BlockCopy(_buffer, count, _buffer, 0, _count - count);
        _count -= count;
    }
}
