namespace Shockwave.Protocol.Handshake;

/// <summary>A parsed HTTP/1.x response head: status line and field lines.</summary>
public sealed class Http1ResponseHead
{
    internal Http1ResponseHead(Http1Version version, int statusCode, string reasonPhrase, Http1HeaderCollection headers)
    {
        Version = version;
        StatusCode = statusCode;
        ReasonPhrase = reasonPhrase;
        Headers = headers;
    }

    /// <summary>The HTTP version of the status line.</summary>
    public Http1Version Version { get; }

    /// <summary>The three-digit status code, 100 to 599.</summary>
    public int StatusCode { get; }

    /// <summary>The reason phrase, possibly empty; informational only (RFC 9112 section 4).</summary>
    public string ReasonPhrase { get; }

    /// <summary>The field lines, repeated names kept, so that a client can refuse a duplicate <c>Sec-WebSocket-Accept</c> (R6455-4.1-ai).</summary>
    public Http1HeaderCollection Headers { get; }
}

/// <summary>
/// An incremental, sans-I/O parser of an HTTP/1.1 response head, for the test and conformance clients reading the
/// server's answer to an upgrade request. Same line rules, size limit and reuse rules as <see cref="Http1RequestHeadParser"/>.
/// </summary>
public sealed class Http1ResponseHeadParser : Http1HeadParser<Http1ResponseHead>
{
    /// <summary>Creates a parser.</summary>
    /// <param name="maxHeadSize">The largest head accepted, in bytes, inclusive. Defaults to <see cref="Http1RequestHeadParser.DefaultMaxHeadSize"/>.</param>
    public Http1ResponseHeadParser(int maxHeadSize = Http1RequestHeadParser.DefaultMaxHeadSize)
        : base(maxHeadSize)
    {
    }

    private protected override Http1HeadError ParseStartLine(ReadOnlySpan<byte> line, Http1HeadFieldsParser fields, out Http1ResponseHead? head)
    {
        head = null;
        var error = ParseStatusLine(line, out var version, out int statusCode, out string reason);
        if (error == Http1HeadError.None && (error = fields.Parse(out var headers)) == Http1HeadError.None)
        {
            head = new Http1ResponseHead(version, statusCode, reason, headers);
        }

        return error;
    }

    // RFC 9112 section 4: status-line = HTTP-version SP status-code SP [ reason-phrase ]. The second SP is required even
    // when the reason is empty; the test clients exist to catch a server that gets this wrong.
    private static Http1HeadError ParseStatusLine(ReadOnlySpan<byte> line, out Http1Version version, out int statusCode, out string reason)
    {
        statusCode = 0;
        reason = string.Empty;
        if (line.Length < 13 || line[8] != (byte)' ' || line[12] != (byte)' ')
        {
            version = Http1Version.Http11;
            return Http1HeadError.InvalidStatusLine;
        }

        var error = Http1HeadSyntax.ParseVersion(line[..8], Http1HeadError.InvalidStatusLine, out version);
        if (error != Http1HeadError.None)
        {
            return error;
        }

        var code = line[9..12];
        if (code[0] is < (byte)'1' or > (byte)'5' || !char.IsAsciiDigit((char)code[1]) || !char.IsAsciiDigit((char)code[2]))
        {
            return Http1HeadError.InvalidStatusLine;
        }

        var reasonBytes = line[13..];
        if (!Http1HeadSyntax.IsFieldText(reasonBytes))
        {
            return Http1HeadError.InvalidStatusLine;
        }

        statusCode = ((code[0] - '0') * 100) + ((code[1] - '0') * 10) + (code[2] - '0');
        reason = Http1HeadSyntax.DecodeValue(reasonBytes);
        return Http1HeadError.None;
    }
}
