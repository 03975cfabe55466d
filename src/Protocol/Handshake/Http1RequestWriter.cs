using System.Buffers;
using System.Globalization;
using System.Text;

namespace Shockwave.Protocol.Handshake;

/// <summary>
/// Writes the client's opening handshake (RFC 6455 section 4.1) as an HTTP/1.1 request head into an
/// <see cref="IBufferWriter{T}"/>: the client's counterpart of <see cref="Http1ResponseWriter"/>.
/// </summary>
/// <remarks>
/// The request is validated in full (<see cref="WebSocketClientRequest.Validate"/>) before the first byte is written, so a
/// refused request leaves the writer untouched, and no caller-supplied text can end a line or add a field.
/// </remarks>
public static class Http1RequestWriter
{
    /// <summary>
    /// Writes the complete upgrade request and the empty line that ends it: <c>GET &lt;resource&gt; HTTP/1.1</c>
    /// (R6455-4.1-p, q), then <c>Host</c> (R6455-4.1-r), <c>Upgrade: websocket</c> (s), <c>Connection: Upgrade</c> (t),
    /// <c>Sec-WebSocket-Key</c> (u), <c>Sec-WebSocket-Version: 13</c> (y, z), and when given <c>Origin</c> (x),
    /// <c>Sec-WebSocket-Protocol</c> (aa), <c>Sec-WebSocket-Extensions</c> (RFC 7692 section 5) and the extra headers.
    /// </summary>
    /// <param name="writer">The destination.</param>
    /// <param name="request">What to send.</param>
    /// <exception cref="ArgumentException"><paramref name="request"/> fails <see cref="WebSocketClientRequest.Validate"/>; nothing was written.</exception>
    /// <remarks>
    /// The request target is the URI's path and query in origin form, as Uri escapes them; the <c>Host</c> value carries
    /// the port only when it is not the scheme's default, 80 for <c>ws</c> and 443 for <c>wss</c> (RFC 6455 section 3).
    /// The subprotocols go on one line, comma-separated, which RFC 9110 section 5.3 makes equivalent to several lines.
    /// </remarks>
    public static void WriteUpgradeRequest(IBufferWriter<byte> writer, WebSocketClientRequest request)
    {
        ArgumentNullException.ThrowIfNull(writer);
        ArgumentNullException.ThrowIfNull(request);
        request.Validate();

        var uri = request.Uri;
        WriteAscii(writer, "GET ");
        WriteAscii(writer, uri.PathAndQuery);
        WriteAscii(writer, " HTTP/1.1\r\nHost: ");
        WriteAscii(writer, request.HostWithoutPort);
        if (!uri.IsDefaultPort)
        {
            Span<char> port = stackalloc char[6];
            port[0] = ':';
            uri.Port.TryFormat(port[1..], out int digits, provider: CultureInfo.InvariantCulture);
            WriteAscii(writer, port[..(1 + digits)]);
        }

        WriteAscii(writer, "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: ");
        WriteAscii(writer, request.Key);
        WriteAscii(writer, "\r\nSec-WebSocket-Version: " + WebSocketVersion.Current + "\r\n");

        if (request.Origin is { } origin)
        {
            WriteHeader(writer, "Origin", origin);
        }

        var subProtocols = request.SubProtocols;
        if (subProtocols.Count != 0)
        {
            WriteAscii(writer, "Sec-WebSocket-Protocol: ");
            for (int i = 0; i < subProtocols.Count; i++)
            {
                if (i != 0)
                {
                    WriteAscii(writer, ", ");
                }

                WriteAscii(writer, subProtocols[i]);
            }

            WriteAscii(writer, "\r\n");
        }

        if (request.Extensions is { } extensions)
        {
            WriteHeader(writer, "Sec-WebSocket-Extensions", extensions);
        }

        foreach (var (name, value) in request.Headers)
        {
            WriteHeader(writer, name, value);
        }

        WriteAscii(writer, "\r\n");
    }

    // Validated already: the name is a token, the value printable ASCII.
    private static void WriteHeader(IBufferWriter<byte> writer, string name, string value)
    {
        WriteAscii(writer, name);
        WriteAscii(writer, ": ");
        WriteAscii(writer, value);
        WriteAscii(writer, "\r\n");
    }

    private static void WriteAscii(IBufferWriter<byte> writer, ReadOnlySpan<char> text)
    {
        var destination = writer.GetSpan(text.Length);
        Ascii.FromUtf16(text, destination, out int written);
        writer.Advance(written);
    }
}
