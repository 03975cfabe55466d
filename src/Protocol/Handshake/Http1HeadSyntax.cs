using System.Buffers;
using System.Text;

namespace Shockwave.Protocol.Handshake;

/// <summary>How far an HTTP/1.1 head parser got with the bytes it was given.</summary>
public enum Http1ParseStatus
{
    /// <summary>A complete head was parsed and the buffer now starts at the first byte after it.</summary>
    Done,

    /// <summary>The head is not complete yet; call again with the same start and more bytes. The buffer is unchanged.</summary>
    NeedMoreData,

    /// <summary>The head breaks HTTP/1.1 syntax; the error says how. Answer 400 (a request) or fail (a response).</summary>
    InvalidData,

    /// <summary>No end of head within the size limit. A server answers 431 (RFC 6585 section 5).</summary>
    HeadTooLarge,
}

/// <summary>The syntax rule an HTTP/1.1 head broke. The names are stable: use them in logs.</summary>
public enum Http1HeadError
{
    /// <summary>No error.</summary>
    None,

    /// <summary>A line ended in LF without CR. RFC 9112 section 2.2 allows accepting it; this parser refuses it.</summary>
    BareLineFeed,

    /// <summary>The request line is not <c>method SP request-target SP HTTP-version</c> (RFC 9112 section 3).</summary>
    InvalidRequestLine,

    /// <summary>The method is not a token (RFC 9110 section 9.1).</summary>
    InvalidMethod,

    /// <summary>The request target contains a byte outside visible ASCII, or a fragment (RFC 9112 section 3.2, RFC 6455 section 3).</summary>
    InvalidRequestTarget,

    /// <summary>The status line is not <c>HTTP-version SP 3DIGIT SP reason-phrase</c> (RFC 9112 section 4).</summary>
    InvalidStatusLine,

    /// <summary>The HTTP version is well formed but not 1.x (a server may answer 505).</summary>
    UnsupportedHttpVersion,

    /// <summary>A field line has no colon.</summary>
    MissingColon,

    /// <summary>A field name is empty or not a token (RFC 9110 section 5.1).</summary>
    InvalidHeaderName,

    /// <summary>Whitespace between a field name and its colon, which RFC 9112 section 5.1 requires a server to reject with 400.</summary>
    WhitespaceBeforeColon,

    /// <summary>A field line starts with whitespace: obsolete line folding (RFC 9112 section 5.2), refused.</summary>
    ObsoleteLineFolding,

    /// <summary>A field value contains a control character other than horizontal tab, CR and NUL included (RFC 9110 section 5.5).</summary>
    InvalidHeaderValue,

    /// <summary>The head exceeds the parser's size limit.</summary>
    HeadTooLarge,
}

/// <summary>The HTTP/1.x minor versions a head can carry.</summary>
public enum Http1Version
{
    /// <summary>HTTP/1.0.</summary>
    Http10 = 10,

    /// <summary>HTTP/1.1, or a later 1.x minor version, which RFC 9110 section 2.5 says to treat as 1.1.</summary>
    Http11 = 11,
}

/// <summary>
/// Finds the end of an HTTP/1.1 head (the empty line) in a buffer that grows between calls, without re-reading bytes
/// already examined, and enforces the size limit while doing so.
/// </summary>
internal struct Http1HeadScanner
{
    private long _scanned;
    private long _lineStart;
    private long _headStart;
    private byte _previous;

    public void Reset() => this = default;

    /// <summary>
    /// On <see cref="Http1ParseStatus.Done"/>, the head (start line to the empty line inclusive) is
    /// [<paramref name="headStart"/>, <paramref name="headEnd"/>) of <paramref name="buffer"/>.
    /// </summary>
    public Http1ParseStatus Scan(in ReadOnlySequence<byte> buffer, int maxHeadSize, out long headStart, out long headEnd, out Http1HeadError error)
    {
        headStart = 0;
        headEnd = 0;
        error = Http1HeadError.None;

        // Bytes past the limit are never examined: a head that has not ended by then is too large whatever follows.
        long limit = Math.Min(buffer.Length, maxHeadSize);
        if (_scanned < limit)
        {
            foreach (var memory in buffer.Slice(_scanned, limit - _scanned))
            {
                var span = memory.Span;
                int from = 0;
                int lf;
                while ((lf = span[from..].IndexOf((byte)'\n')) >= 0)
                {
                    lf += from;
                    long offset = _scanned + lf;
                    byte before = lf > 0 ? span[lf - 1] : _previous;

                    // RFC 9112 section 2.2 lets a recipient treat a bare LF as a line end. Refusing it keeps one line
                    // grammar for every component on the path and leaves no room for a proxy in front to disagree with
                    // us about where a field ends (request smuggling).
                    if (offset == 0 || before != (byte)'\r')
                    {
                        error = Http1HeadError.BareLineFeed;
                        return Http1ParseStatus.InvalidData;
                    }

                    if (offset + 1 - _lineStart == 2)
                    {
                        if (_lineStart != _headStart)
                        {
                            headStart = _headStart;
                            headEnd = offset + 1;
                            return Http1ParseStatus.Done;
                        }

                        // RFC 9112 section 2.2: a server SHOULD ignore at least one empty line before the request line.
                        // They still count against the size limit.
                        _headStart = offset + 1;
                    }

                    _lineStart = offset + 1;
                    from = lf + 1;
                }

                if (!span.IsEmpty)
                {
                    _previous = span[^1];
                }

                _scanned += span.Length;
            }
        }

        if (buffer.Length > maxHeadSize)
        {
            error = Http1HeadError.HeadTooLarge;
            return Http1ParseStatus.HeadTooLarge;
        }

        return Http1ParseStatus.NeedMoreData;
    }
}

/// <summary>Line-level HTTP/1.1 syntax shared by the request and response head parsers.</summary>
internal static class Http1HeadSyntax
{
    // RFC 9110 section 5.5: field values are VCHAR, obs-text, SP and HTAB; every other control character is refused.
    private static readonly SearchValues<byte> InvalidValueBytes = SearchValues.Create(
        [0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x0A, 0x0B, 0x0C, 0x0D, 0x0E, 0x0F,
         0x10, 0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17, 0x18, 0x19, 0x1A, 0x1B, 0x1C, 0x1D, 0x1E, 0x1F, 0x7F]);

    // Names interned in their canonical spelling: the handshake's own, and the ones nearly every browser request carries.
    private static readonly string[] KnownNames =
    [
        "Host", "Upgrade", "Connection", "Sec-WebSocket-Key", "Sec-WebSocket-Version", "Sec-WebSocket-Protocol",
        "Sec-WebSocket-Extensions", "Sec-WebSocket-Accept", "Origin", "User-Agent", "Accept", "Accept-Encoding",
        "Accept-Language", "Cache-Control", "Pragma", "Cookie", "Authorization", "Content-Length", "Content-Type",
        "Transfer-Encoding", "Date", "Server", "X-Forwarded-For", "X-Forwarded-Proto", "X-Forwarded-Host", "Forwarded",
    ];

    // Values interned only on an exact match, since values may be case-sensitive.
    private static readonly string[] KnownValues =
    [
        "websocket", "WebSocket", "Upgrade", "upgrade", "keep-alive, Upgrade", "keep-alive", "close", "13", "no-cache",
        "permessage-deflate", "permessage-deflate; client_max_window_bits", "Switching Protocols",
    ];

    /// <summary>Parses one field line (without its CRLF): <c>field-name ":" OWS field-value OWS</c>.</summary>
    public static Http1HeadError ParseFieldLine(ReadOnlySpan<byte> line, out KeyValuePair<string, string> field)
    {
        field = default;
        if (line[0] is (byte)' ' or (byte)'\t')
        {
            return Http1HeadError.ObsoleteLineFolding;
        }

        int colon = line.IndexOf((byte)':');
        if (colon < 0)
        {
            return Http1HeadError.MissingColon;
        }

        var name = line[..colon];
        if (name.IsEmpty)
        {
            return Http1HeadError.InvalidHeaderName;
        }

        if (name[^1] is (byte)' ' or (byte)'\t')
        {
            return Http1HeadError.WhitespaceBeforeColon;
        }

        if (!HeaderTokens.IsToken(name))
        {
            return Http1HeadError.InvalidHeaderName;
        }

        var value = HeaderTokens.TrimOws(line[(colon + 1)..]);
        if (value.ContainsAny(InvalidValueBytes))
        {
            return Http1HeadError.InvalidHeaderValue;
        }

        field = new(InternName(name), DecodeValue(value));
        return Http1HeadError.None;
    }

    /// <summary>Parses <c>HTTP/1.x</c>: exactly eight bytes, the name case-sensitive (RFC 9112 section 2.3).</summary>
    public static Http1HeadError ParseVersion(ReadOnlySpan<byte> text, Http1HeadError malformed, out Http1Version version)
    {
        version = Http1Version.Http11;
        if (text.Length != 8 || !text.StartsWith("HTTP/"u8) || !char.IsAsciiDigit((char)text[5]) || text[6] != (byte)'.'
            || !char.IsAsciiDigit((char)text[7]))
        {
            return malformed;
        }

        if (text[5] != (byte)'1')
        {
            return Http1HeadError.UnsupportedHttpVersion;
        }

        version = text[7] == (byte)'0' ? Http1Version.Http10 : Http1Version.Http11;
        return Http1HeadError.None;
    }

    /// <summary>
    /// Splits a complete head into its start line and field lines. The head ends with the empty line and has no bare LF
    /// (the scanner made sure), so every LF is preceded by CR.
    /// </summary>
    public static Http1HeadError ParseFields(ReadOnlySpan<byte> afterStartLine, List<KeyValuePair<string, string>> fields)
    {
        var rest = afterStartLine;
        while (true)
        {
            int lf = rest.IndexOf((byte)'\n');
            var line = rest[..(lf - 1)];
            rest = rest[(lf + 1)..];
            if (line.IsEmpty)
            {
                return Http1HeadError.None;
            }

            var error = ParseFieldLine(line, out var field);
            if (error != Http1HeadError.None)
            {
                return error;
            }

            fields.Add(field);
        }
    }

    /// <summary>Gives the contiguous bytes of a head, copying into <paramref name="rented"/> only when the head spans segments.</summary>
    public static ReadOnlySpan<byte> GetContiguous(in ReadOnlySequence<byte> head, out byte[]? rented)
    {
        if (head.IsSingleSegment)
        {
            rented = null;
            return head.FirstSpan;
        }

        int length = checked((int)head.Length);
        rented = ArrayPool<byte>.Shared.Rent(length);
        head.CopyTo(rented);
        return rented.AsSpan(0, length);
    }

    public static string InternName(ReadOnlySpan<byte> name)
    {
        foreach (var known in KnownNames)
        {
            if (known.Length == name.Length && Ascii.EqualsIgnoreCase(name, known))
            {
                return known;
            }
        }

        // Validated as a token, so ASCII.
        return Encoding.ASCII.GetString(name);
    }

    /// <summary>Decodes a field value or reason phrase. Latin-1 maps obs-text bytes one to one, so nothing is lost.</summary>
    public static string DecodeValue(ReadOnlySpan<byte> value)
    {
        if (value.IsEmpty)
        {
            return string.Empty;
        }

        foreach (var known in KnownValues)
        {
            if (known.Length == value.Length && Ascii.Equals(value, known))
            {
                return known;
            }
        }

        return Encoding.Latin1.GetString(value);
    }

    /// <summary>True if the text has no control character other than horizontal tab.</summary>
    public static bool IsFieldText(ReadOnlySpan<byte> text) => !text.ContainsAny(InvalidValueBytes);
}
