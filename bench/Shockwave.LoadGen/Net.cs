using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Shockwave.LoadGen;

/// <summary>Connecting and the HTTP/1.1 upgrade, with a fixed key (the accept value is checked).</summary>
internal static class Net
{
    private const string Key = "dGhlIHNhbXBsZSBub25jZQ==";
    private const string Accept = "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=";

    public static byte[] UpgradeRequest(Options o)
    {
        string extensions = o.Deflate
            ? "Sec-WebSocket-Extensions: permessage-deflate; client_no_context_takeover; server_no_context_takeover\r\n"
            : "";
        return Encoding.ASCII.GetBytes(
            $"GET {o.Path} HTTP/1.1\r\nHost: {o.Host}:{o.Port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
            $"Sec-WebSocket-Key: {Key}\r\nSec-WebSocket-Version: 13\r\n{extensions}\r\n");
    }

    /// <summary>The source address for connection <paramref name="index"/>: 127.0.0.2 and up when several are asked for.</summary>
    public static IPAddress? Source(Options o, int index) =>
        o.Sources <= 1 ? null : new IPAddress(new byte[] { 127, 0, 0, (byte)(2 + (index % o.Sources)) });

    public static async Task<Socket> ConnectAsync(Options o, IPAddress? source, byte[] request, CancellationToken ct, int? port = null)
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        try
        {
            if (source is not null)
            {
                // IP_BIND_ADDRESS_NO_PORT: pick the port at connect time, per destination, so sources are not limited
                // to the ephemeral range once per address.
                socket.SetRawSocketOption(0, 24, BitConverter.GetBytes(1));
                socket.Bind(new IPEndPoint(source, 0));
            }
            await socket.ConnectAsync(new IPEndPoint(o.Host, port ?? o.Port), ct);
            await socket.SendAsync(request, SocketFlags.None, ct);
            var buffer = new byte[1024];
            int length = 0;
            while (true)
            {
                int n = await socket.ReceiveAsync(buffer.AsMemory(length), SocketFlags.None, ct);
                if (n == 0)
                {
                    throw new IOException("connection closed during the upgrade");
                }
                length += n;
                int end = buffer.AsSpan(0, length).IndexOf("\r\n\r\n"u8);
                if (end >= 0)
                {
                    if (end + 4 != length)
                    {
                        throw new IOException("bytes after the 101 response before any request");
                    }
                    string head = Encoding.ASCII.GetString(buffer, 0, end);
                    if (!head.StartsWith("HTTP/1.1 101", StringComparison.Ordinal) || !head.Contains(Accept, StringComparison.Ordinal))
                    {
                        throw new IOException($"upgrade refused: {head.Split("\r\n")[0]}");
                    }
                    if (o.Deflate && !head.Contains("permessage-deflate", StringComparison.OrdinalIgnoreCase))
                    {
                        throw new IOException("permessage-deflate was not negotiated");
                    }
                    return socket;
                }
                if (length == buffer.Length)
                {
                    throw new IOException("upgrade response head too long");
                }
            }
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }
}
