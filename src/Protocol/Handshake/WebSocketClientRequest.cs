using System.Buffers;
using System.Text;
using Shockwave.Protocol.Compression;

namespace Shockwave.Protocol.Handshake;

/// <summary>
/// What a client puts in its opening handshake (RFC 6455 section 4.1): the WebSocket URI, the key, and the optional
/// <c>Origin</c>, subprotocols, extension offers and extra headers. <see cref="Http1RequestWriter"/> writes it;
/// <see cref="WebSocketResponseValidator"/> judges the server's answer against it.
/// </summary>
/// <remarks>
/// <para>
/// Nothing is checked when the properties are set. <see cref="Validate"/> checks everything at once and is called by the
/// writer before it writes a byte; a client should also call it before opening a connection, since an invalid URI must
/// fail without any connection attempt (R6455-4.1-c).
/// </para>
/// <para>
/// A record, so that one configured request serves many connections, each with its own key:
/// <c>template with { Key = WebSocketAccept.CreateClientKey() }</c>. Its <see cref="object.ToString"/> shows the URI
/// only: the key, the origin and header values such as credentials stay out of logs.
/// </para>
/// </remarks>
public sealed record WebSocketClientRequest
{
    // Fields the writer owns, and the two that would give a GET a body and so move the end of the request: a caller's
    // copy would duplicate a handshake field (which the server must refuse, RFC 6455 section 11.3) or let it smuggle
    // bytes into what the server reads as the request (RFC 9112 section 6).
    private static readonly string[] ReservedHeaderNames =
    [
        "Host", "Upgrade", "Connection", "Sec-WebSocket-Key", "Sec-WebSocket-Version", "Sec-WebSocket-Protocol",
        "Sec-WebSocket-Extensions", "Sec-WebSocket-Accept", "Origin", "Content-Length", "Transfer-Encoding",
    ];

    private static readonly SearchValues<char> FieldTextChars = SearchValues.Create(
        "\t !\"#$%&'()*+,-./0123456789:;<=>?@ABCDEFGHIJKLMNOPQRSTUVWXYZ[\\]^_`abcdefghijklmnopqrstuvwxyz{|}~");

    /// <summary>
    /// The <c>ws</c> or <c>wss</c> URI to connect to (RFC 6455 section 3): an absolute URI without user information or
    /// fragment. Its path and query become the request target, its host and non-default port the <c>Host</c> header.
    /// </summary>
    public required Uri Uri { get; init; }

    /// <summary>
    /// The <c>Sec-WebSocket-Key</c>: base64 of 16 random bytes, exactly 24 characters. Take a fresh
    /// <see cref="WebSocketAccept.CreateClientKey"/> for every connection (R6455-4.1-w), and keep it to check the answer.
    /// </summary>
    public required string Key { get; init; }

    /// <summary>
    /// The <c>Origin</c> header, which browsers must send (R6455-4.1-x) and other clients may, for example
    /// <c>https://example.com</c>. The default is <see langword="null"/>: no header.
    /// </summary>
    public string? Origin { get; init; }

    /// <summary>
    /// The subprotocols to offer in <c>Sec-WebSocket-Protocol</c>, most preferred first. Each must be a token and all must
    /// be distinct (R6455-4.1-aa); names compare case-sensitively, as the server does. The default is empty: no header.
    /// </summary>
    public IReadOnlyList<string> SubProtocols { get; init; } = [];

    /// <summary>
    /// The <c>Sec-WebSocket-Extensions</c> offer, such as <see cref="PerMessageDeflateClientOffer.ToHeaderValue"/>. It must
    /// follow the header grammar (RFC 6455 section 9.1). The default is <see langword="null"/>: no header.
    /// </summary>
    public string? Extensions { get; init; }

    /// <summary>
    /// Extra header fields (authorization, cookies, a user agent), written after the handshake's own in this order. Names
    /// must be tokens, values printable ASCII (spaces and tabs allowed), so no value can end a line or add a field. The
    /// handshake's own fields, <c>Origin</c>, <c>Content-Length</c> and <c>Transfer-Encoding</c> are refused: they have
    /// their own properties or must not be sent. The default is empty.
    /// </summary>
    public IReadOnlyList<KeyValuePair<string, string>> Headers { get; init; } = [];

    /// <summary>
    /// Checks every property, so that a request that passes can be written and a server following RFC 6455 will accept it.
    /// </summary>
    /// <exception cref="ArgumentException">
    /// The URI is not an absolute <c>ws</c> or <c>wss</c> URI, has user information or a fragment (R6455-4.1-b); the key is
    /// not base64 of 16 bytes; a subprotocol is empty, not a token or repeated (R6455-4.1-aa); the extension offer breaks the
    /// header grammar; or <c>Origin</c> or an extra header could not be written as one field line.
    /// </exception>
    public void Validate()
    {
        // The messages name the property; the exception is thrown for the request as a whole.
        ValidateUri(Uri);

        // Exactly the canonical 24 characters: the writer sends the key as given, and the answer is computed from it.
        if (Key is null || Key.Length != WebSocketAccept.KeyLength || !WebSocketAccept.IsValidKey(Key))
        {
            throw Invalid("Key must be base64 of 16 bytes, 24 characters, as WebSocketAccept.CreateClientKey makes it.");
        }

        if (Origin is not null && !IsTrimmedFieldText(Origin))
        {
            throw Invalid("Origin must be non-empty printable ASCII without surrounding whitespace.");
        }

        ValidateSubProtocols(SubProtocols);

        if (Extensions is not null
            && (!IsTrimmedFieldText(Extensions) || !WebSocketExtensionParser.TryParse(Extensions, out var offers) || offers.Count == 0))
        {
            throw Invalid("Extensions must be a Sec-WebSocket-Extensions value with at least one extension (RFC 6455 section 9.1).");
        }

        ValidateHeaders(Headers);
    }

    // Used by the compiler-generated ToString: the URI only, see the remarks.
    private bool PrintMembers(StringBuilder builder)
    {
        builder.Append("Uri = ").Append(Uri);
        return true;
    }

    /// <summary>The <c>Host</c> value without the port: the IDN host in ASCII, an IPv6 address in brackets without its zone.</summary>
    internal string HostWithoutPort =>

        // Uri.Host keeps the brackets of an IPv6 literal and drops its zone, which has no meaning to the server
        // (RFC 6874 section 4); IdnHost gives the Punycode form of a name, the only one a field value can carry.
        Uri.HostNameType == UriHostNameType.IPv6 ? Uri.Host : Uri.IdnHost;

    private static void ValidateUri(Uri uri)
    {
        if (uri is null || !uri.IsAbsoluteUri)
        {
            throw Invalid("Uri must be an absolute ws:// or wss:// URI.");
        }

        // R6455-4.1-b, RFC 6455 section 3: only the two schemes (Uri lower-cases them), no fragment, and since
        // ws-URI = "ws:" "//" host [ ":" port ] path [ "?" query ], no user information either, which would otherwise
        // be silently dropped (and a password never belongs in a URI the client may log).
        if (uri.Scheme != Uri.UriSchemeWs && uri.Scheme != Uri.UriSchemeWss)
        {
            throw Invalid("Uri must use the ws or wss scheme (RFC 6455 section 3).");
        }

        if (uri.Fragment.Length != 0)
        {
            throw Invalid("Uri must not have a fragment (RFC 6455 section 3); escape '#' as %23.");
        }

        if (uri.UserInfo.Length != 0)
        {
            throw Invalid("Uri must not carry user information; send credentials in a header.");
        }

        // Port 0 names no listening socket. Uri escapes everything outside visible ASCII in the path and query; the
        // check guards the request line anyway.
        if (uri.HostNameType is not (UriHostNameType.Dns or UriHostNameType.IPv4 or UriHostNameType.IPv6)
            || uri.Port < 1
            || uri.PathAndQuery.AsSpan().ContainsAnyExceptInRange('!', '~'))
        {
            throw Invalid("Uri must have a DNS name or IP address as host, a port from 1 to 65535 and an ASCII path.");
        }
    }

    private static void ValidateSubProtocols(IReadOnlyList<string> subProtocols)
    {
        if (subProtocols is null)
        {
            throw Invalid("SubProtocols must not be null; leave it empty to offer none.");
        }

        for (int i = 0; i < subProtocols.Count; i++)
        {
            // R6455-4.1-aa: non-empty, U+0021 to U+007E, no separators (so no comma can split one name into two)...
            if (subProtocols[i] is not { } name || !Handshake.SubProtocols.IsValidName(name))
            {
                throw Invalid("Each subprotocol must be a non-empty token (RFC 6455 section 4.1).");
            }

            // ...and unique. Lists are a handful of names, so the quadratic scan costs less than a set.
            for (int j = 0; j < i; j++)
            {
                if (string.Equals(subProtocols[j], name, StringComparison.Ordinal))
                {
                    throw Invalid("Each subprotocol must be offered once (RFC 6455 section 4.1).");
                }
            }
        }
    }

    private static void ValidateHeaders(IReadOnlyList<KeyValuePair<string, string>> headers)
    {
        if (headers is null)
        {
            throw Invalid("Headers must not be null; leave it empty to add none.");
        }

        foreach (var (name, value) in headers)
        {
            if (name is null || !HeaderTokens.IsToken(name))
            {
                throw Invalid("Each header name must be a token (RFC 9110 section 5.1).");
            }

            foreach (var reserved in ReservedHeaderNames)
            {
                if (Ascii.EqualsIgnoreCase(name, reserved))
                {
                    throw Invalid("Headers must not contain a handshake field, Origin, Content-Length or Transfer-Encoding.");
                }
            }

            if (value is null || !IsFieldText(value))
            {
                throw Invalid("Each header value must be printable ASCII; CR, LF and other control characters are refused.");
            }
        }
    }

    // Printable ASCII plus SP and HTAB (RFC 9110 section 5.5). Obs-text is legal on the wire but would need an encoding
    // the server may read differently; control characters, CR and LF above all, could end the line.
    internal static bool IsFieldText(ReadOnlySpan<char> text) => !text.ContainsAnyExcept(FieldTextChars);

    private static bool IsTrimmedFieldText(string text) =>
        text.Length != 0 && IsFieldText(text) && text[0] is not (' ' or '\t') && text[^1] is not (' ' or '\t');

    private static ArgumentException Invalid(string message) => new(message);
}
