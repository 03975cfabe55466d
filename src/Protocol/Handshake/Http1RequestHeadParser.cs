using System.Text;

namespace Shockwave.Protocol.Handshake;

/// <summary>A parsed HTTP/1.x request head: request line and field lines.</summary>
public sealed class Http1RequestHead
{
    internal Http1RequestHead(string method, string target, Http1Version version, Http1HeaderCollection headers)
    {
        Method = method;
        Target = target;
        Version = version;
        Headers = headers;
        (Path, Query) = SplitTarget(target);
    }

    /// <summary>The method, case preserved (methods are case-sensitive, RFC 9110 section 9.1).</summary>
    public string Method { get; }

    /// <summary>The request target exactly as sent: origin form (<c>/chat?room=1</c>) or absolute form (<c>http://host/chat</c>).</summary>
    public string Target { get; }

    /// <summary>
    /// The path of the target, still percent-encoded: the part before <c>?</c> in origin form, the part after the authority
    /// in absolute form (<c>/</c> when empty), and empty for the authority and asterisk forms, which name no resource.
    /// </summary>
    public string Path { get; }

    /// <summary>The query of the target including its leading <c>?</c>, or empty.</summary>
    public string Query { get; }

    /// <summary>The HTTP version.</summary>
    public Http1Version Version { get; }

    /// <summary>The field lines, repeated names kept.</summary>
    public Http1HeaderCollection Headers { get; }

    /// <summary>Extracts the fields <see cref="WebSocketRequestValidator"/> judges.</summary>
    public WebSocketRequestHead ToWebSocketRequestHead() => new()
    {
        Method = Method,
        IsHttp11OrLater = Version >= Http1Version.Http11,
        HostCount = Headers.GetCount("Host"),
        Upgrade = Headers.GetCombinedValue("Upgrade"),
        Connection = Headers.GetCombinedValue("Connection"),
        KeyCount = Headers.GetCount("Sec-WebSocket-Key"),
        Key = Headers.GetFirstValue("Sec-WebSocket-Key"),
        VersionCount = Headers.GetCount("Sec-WebSocket-Version"),
        Version = Headers.GetFirstValue("Sec-WebSocket-Version"),
    };

    private static (string Path, string Query) SplitTarget(string target)
    {
        int pathStart;
        if (target.StartsWith('/'))
        {
            pathStart = 0;
        }
        else
        {
            // Absolute form (RFC 9112 section 3.2.2): scheme "://" authority, then the path.
            int schemeEnd = target.IndexOf("://", StringComparison.Ordinal);
            if (schemeEnd <= 0 || !char.IsAsciiLetter(target[0]))
            {
                return (string.Empty, string.Empty);
            }

            int authorityStart = schemeEnd + 3;
            int afterAuthority = target.AsSpan(authorityStart).IndexOfAny('/', '?');
            if (afterAuthority < 0)
            {
                return ("/", string.Empty);
            }

            pathStart = authorityStart + afterAuthority;
        }

        int query = target.IndexOf('?', pathStart);
        string path = query < 0 ? target[pathStart..] : target[pathStart..query];
        return (path.Length == 0 ? "/" : path, query < 0 ? string.Empty : target[query..]);
    }
}

/// <summary>
/// An incremental, sans-I/O parser of an HTTP/1.1 request head, for the raw Kestrel listener: feed it the connection's
/// bytes split anywhere, and it reports <see cref="Http1ParseStatus.NeedMoreData"/> until the empty line that ends the head arrives.
/// </summary>
/// <remarks>
/// <para>
/// Strict by design, since a WebSocket client has no reason to send anything unusual: one SP between the request-line
/// parts, field names that are tokens, no whitespace before the colon (RFC 9112 section 5.1), no obsolete line folding
/// (section 5.2), no control characters but tab in values (RFC 9110 section 5.5), and no bare LF (every line ends in CRLF).
/// Empty lines before the request line are skipped (RFC 9112 section 2.2). Field values are decoded as Latin-1.
/// </para>
/// <para>
/// An instance keeps how far it has scanned between calls, so every byte is examined once however the data is split.
/// Use one instance per connection, or call <see cref="Http1HeadParser{THead}.Reset"/>; it is not thread-safe. It resets itself after any result
/// other than <see cref="Http1ParseStatus.NeedMoreData"/>.
/// </para>
/// </remarks>
public sealed class Http1RequestHeadParser : Http1HeadParser<Http1RequestHead>
{
    /// <summary>
    /// The default limit on the head's size: 8 KiB. A browser's upgrade request is well under 2 KiB unless it carries large
    /// cookies or tokens; raise the limit for those.
    /// </summary>
    public const int DefaultMaxHeadSize = 8 * 1024;

    /// <summary>Creates a parser.</summary>
    /// <param name="maxHeadSize">
    /// The largest head accepted, in bytes, from the first byte to the empty line inclusive (the limit is inclusive).
    /// Defaults to <see cref="DefaultMaxHeadSize"/>.
    /// </param>
    public Http1RequestHeadParser(int maxHeadSize = DefaultMaxHeadSize)
        : base(maxHeadSize)
    {
    }

    private protected override Http1HeadError ParseStartLine(ReadOnlySpan<byte> line, Http1HeadFieldsParser fields, out Http1RequestHead? head)
    {
        head = null;
        var error = ParseRequestLine(line, out string method, out string target, out var version);
        if (error == Http1HeadError.None && (error = fields.Parse(out var headers)) == Http1HeadError.None)
        {
            head = new Http1RequestHead(method, target, version, headers);
        }

        return error;
    }

    // RFC 9112 section 3: request-line = method SP request-target SP HTTP-version.
    private static Http1HeadError ParseRequestLine(ReadOnlySpan<byte> line, out string method, out string target, out Http1Version version)
    {
        method = string.Empty;
        target = string.Empty;
        version = Http1Version.Http11;

        int firstSpace = line.IndexOf((byte)' ');
        if (firstSpace < 0)
        {
            return Http1HeadError.InvalidRequestLine;
        }

        var methodBytes = line[..firstSpace];
        if (!HeaderTokens.IsToken(methodBytes))
        {
            return firstSpace == 0 ? Http1HeadError.InvalidRequestLine : Http1HeadError.InvalidMethod;
        }

        var rest = line[(firstSpace + 1)..];
        int secondSpace = rest.IndexOf((byte)' ');
        if (secondSpace <= 0)
        {
            return Http1HeadError.InvalidRequestLine;
        }

        // Visible ASCII only; a fragment is never sent (RFC 9112 section 3.2) and has no meaning in a WebSocket URI (RFC 6455 section 3).
        var targetBytes = rest[..secondSpace];
        if (targetBytes.ContainsAnyExceptInRange((byte)0x21, (byte)0x7E) || targetBytes.Contains((byte)'#'))
        {
            return Http1HeadError.InvalidRequestTarget;
        }

        var error = Http1HeadSyntax.ParseVersion(rest[(secondSpace + 1)..], Http1HeadError.InvalidRequestLine, out version);
        if (error != Http1HeadError.None)
        {
            return error;
        }

        method = methodBytes.SequenceEqual("GET"u8) ? "GET" : Encoding.ASCII.GetString(methodBytes);
        target = targetBytes.SequenceEqual("/"u8) ? "/" : Encoding.ASCII.GetString(targetBytes);
        return Http1HeadError.None;
    }
}
