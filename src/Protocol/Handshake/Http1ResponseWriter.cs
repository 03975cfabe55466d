using System.Buffers;
using System.Text;

namespace Shockwave.Protocol.Handshake;

/// <summary>
/// Writes HTTP/1.1 response heads into an <see cref="IBufferWriter{T}"/>: the 101 that accepts a WebSocket and the
/// error answers (400, 403, 404, 405, 426, 431, 503) of the raw Kestrel listener, which has no HTTP server to do it.
/// </summary>
/// <remarks>
/// Everything written is checked: a header name must be a token and a value or reason phrase printable ASCII, tab allowed.
/// Anything else, CR and LF above all, throws <see cref="ArgumentException"/>, so application data can never split a
/// response (RFC 9110 section 5.5).
/// </remarks>
public static class Http1ResponseWriter
{
    /// <summary>Writes <c>HTTP/1.1 &lt;status&gt; &lt;reason&gt;</c> and its CRLF.</summary>
    /// <param name="writer">The destination.</param>
    /// <param name="statusCode">A status code from 100 to 599.</param>
    /// <param name="reasonPhrase">The reason phrase; defaults to <see cref="GetReasonPhrase"/>.</param>
    public static void WriteStatusLine(IBufferWriter<byte> writer, int statusCode, string? reasonPhrase = null)
    {
        ArgumentNullException.ThrowIfNull(writer);
        ArgumentOutOfRangeException.ThrowIfLessThan(statusCode, 100);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(statusCode, 599);
        reasonPhrase ??= GetReasonPhrase(statusCode);
        if (!IsFieldText(reasonPhrase))
        {
            throw new ArgumentException("The reason phrase must be printable ASCII.", nameof(reasonPhrase));
        }

        WriteAscii(writer, "HTTP/1.1 ");
        Span<char> code = stackalloc char[3];
        code[0] = (char)('0' + (statusCode / 100));
        code[1] = (char)('0' + (statusCode / 10 % 10));
        code[2] = (char)('0' + (statusCode % 10));
        WriteAscii(writer, code);
        WriteAscii(writer, " ");
        WriteAscii(writer, reasonPhrase);
        WriteAscii(writer, "\r\n");
    }

    /// <summary>Writes one field line, <c>name: value</c> and its CRLF.</summary>
    /// <param name="writer">The destination.</param>
    /// <param name="name">The field name, a token.</param>
    /// <param name="value">The field value: printable ASCII, spaces and tabs allowed.</param>
    public static void WriteHeader(IBufferWriter<byte> writer, string name, ReadOnlySpan<char> value)
    {
        ArgumentNullException.ThrowIfNull(writer);
        ArgumentNullException.ThrowIfNull(name);
        if (!HeaderTokens.IsToken(name))
        {
            throw new ArgumentException("A header name must be a token.", nameof(name));
        }

        if (!IsFieldText(value))
        {
            throw new ArgumentException("A header value must be printable ASCII.", nameof(value));
        }

        WriteAscii(writer, name);
        WriteAscii(writer, ": ");
        WriteAscii(writer, value);
        WriteAscii(writer, "\r\n");
    }

    /// <summary>Writes the empty line that ends the head.</summary>
    public static void WriteEndOfHead(IBufferWriter<byte> writer)
    {
        ArgumentNullException.ThrowIfNull(writer);
        WriteAscii(writer, "\r\n");
    }

    /// <summary>
    /// Writes the complete 101 head that accepts a WebSocket (R6455-4.2.2-j1 to j4): <c>Upgrade: websocket</c>,
    /// <c>Connection: Upgrade</c>, <c>Sec-WebSocket-Accept</c>, then <c>Sec-WebSocket-Protocol</c> and
    /// <c>Sec-WebSocket-Extensions</c> when given, each at most once (R6455-11.3-c to e), and the empty line.
    /// </summary>
    /// <param name="writer">The destination.</param>
    /// <param name="secWebSocketKey">The request's key, already validated.</param>
    /// <param name="subProtocol">The selected subprotocol; null or empty writes no header (R6455-4.2.2-g).</param>
    /// <param name="extensions">The accepted extensions as one header value; null or empty writes no header.</param>
    /// <exception cref="ArgumentException">The key is invalid, the subprotocol is not a valid name, or the extensions value is not printable ASCII.</exception>
    public static void WriteSwitchingProtocols(IBufferWriter<byte> writer, ReadOnlySpan<char> secWebSocketKey, string? subProtocol = null, string? extensions = null)
    {
        ArgumentNullException.ThrowIfNull(writer);
        Span<char> accept = stackalloc char[WebSocketAccept.AcceptLength];
        if (!WebSocketAccept.TryComputeAccept(secWebSocketKey, accept, out _))
        {
            throw new ArgumentException("Sec-WebSocket-Key must be base64 of 16 bytes.", nameof(secWebSocketKey));
        }

        if (!string.IsNullOrEmpty(subProtocol) && !SubProtocols.IsValidName(subProtocol))
        {
            throw new ArgumentException("The subprotocol is not a valid name.", nameof(subProtocol));
        }

        if (!IsFieldText(extensions))
        {
            throw new ArgumentException("The extensions value must be printable ASCII.", nameof(extensions));
        }

        WriteStatusLine(writer, 101);
        WriteHeader(writer, "Upgrade", "websocket");
        WriteHeader(writer, "Connection", "Upgrade");
        WriteHeader(writer, "Sec-WebSocket-Accept", accept);
        if (!string.IsNullOrEmpty(subProtocol))
        {
            WriteHeader(writer, "Sec-WebSocket-Protocol", subProtocol);
        }

        if (!string.IsNullOrEmpty(extensions))
        {
            WriteHeader(writer, "Sec-WebSocket-Extensions", extensions);
        }

        WriteEndOfHead(writer);
    }

    /// <summary>
    /// Writes a complete error head with no body: the status line, <paramref name="headers"/>, <c>Content-Length: 0</c>, and
    /// <c>Connection: close</c> (merged into a <c>Connection</c> value from <paramref name="headers"/>), since the raw
    /// listener closes the connection after refusing it (RFC 9112 section 9.6).
    /// </summary>
    /// <param name="writer">The destination.</param>
    /// <param name="statusCode">The status code, 100 to 599.</param>
    /// <param name="headers">Extra headers, such as <see cref="HandshakeValidationResult.ResponseHeaders"/>.</param>
    public static void WriteRejection(IBufferWriter<byte> writer, int statusCode, IReadOnlyList<KeyValuePair<string, string>>? headers = null)
    {
        WriteStatusLine(writer, statusCode);
        string connection = "close";
        if (headers is not null)
        {
            foreach (var header in headers)
            {
                if (string.Equals(header.Key, "Connection", StringComparison.OrdinalIgnoreCase))
                {
                    connection = header.Value + ", close";
                    continue;
                }

                WriteHeader(writer, header.Key, header.Value);
            }
        }

        WriteHeader(writer, "Content-Length", "0");
        WriteHeader(writer, "Connection", connection);
        WriteEndOfHead(writer);
    }

    /// <summary>Writes the rejection <paramref name="result"/> calls for: its status and its required headers.</summary>
    /// <exception cref="ArgumentException"><paramref name="result"/> is valid: a valid request is answered with <see cref="WriteSwitchingProtocols"/>.</exception>
    public static void WriteRejection(IBufferWriter<byte> writer, HandshakeValidationResult result)
    {
        ArgumentNullException.ThrowIfNull(result);
        if (result.IsValid)
        {
            throw new ArgumentException("A valid request is accepted, not rejected.", nameof(result));
        }

        WriteRejection(writer, result.StatusCode, result.ResponseHeaders);
    }

    /// <summary>The standard reason phrase for the statuses a WebSocket server answers (RFC 9110 section 15), or empty for others.</summary>
    public static string GetReasonPhrase(int statusCode) => statusCode switch
    {
        101 => "Switching Protocols",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        408 => "Request Timeout",
        426 => "Upgrade Required",
        429 => "Too Many Requests",
        431 => "Request Header Fields Too Large",
        500 => "Internal Server Error",
        503 => "Service Unavailable",
        505 => "HTTP Version Not Supported",
        _ => string.Empty,
    };

    // Printable ASCII plus SP and HTAB: what a sender should limit field values to (RFC 9110 section 5.5).
    private static bool IsFieldText(ReadOnlySpan<char> text)
    {
        foreach (char c in text)
        {
            if (c is not ('\t' or (>= ' ' and <= '~')))
            {
                return false;
            }
        }

        return true;
    }

    private static void WriteAscii(IBufferWriter<byte> writer, ReadOnlySpan<char> text)
    {
        var destination = writer.GetSpan(text.Length);
        Ascii.FromUtf16(text, destination, out int written);
        writer.Advance(written);
    }
}
