using System.Buffers;
using System.Text;

namespace Shockwave.Protocol.Handshake;

/// <summary>
/// Token and list syntax shared by the handshake header fields (RFC 9110 sections 5.6.1 and 5.6.2):
/// <c>Connection: keep-alive, Upgrade</c>, <c>Upgrade: websocket</c>, <c>Sec-WebSocket-Protocol: chat, superchat</c>.
/// </summary>
/// <remarks>
/// These helpers split on every comma and do not understand quoted strings, so they suit lists of tokens only.
/// <c>Sec-WebSocket-Extensions</c>, whose parameters may be quoted, has its own parser.
/// </remarks>
public static class HeaderTokens
{
    // RFC 9110 section 5.6.2: tchar = "!" / "#" / "$" / "%" / "&" / "'" / "*" / "+" / "-" / "." / "^" / "_" / "`" / "|" / "~" / DIGIT / ALPHA.
    private const string TokenCharacters = "!#$%&'*+-.^_`|~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

    private static readonly SearchValues<char> TokenChars = SearchValues.Create(TokenCharacters);

    internal static readonly SearchValues<byte> TokenBytes = SearchValues.Create(Encoding.ASCII.GetBytes(TokenCharacters));

    /// <summary>
    /// True if <paramref name="headerValue"/>, a comma-separated list, has an element equal to <paramref name="token"/>
    /// ignoring ASCII case. Whitespace around elements and empty elements are allowed (RFC 9110 section 5.6.1).
    /// </summary>
    /// <remarks>
    /// The comparison folds ASCII letters only, so look-alike non-ASCII characters (such as the Kelvin sign for <c>k</c>)
    /// never match. An element matches only as a whole: <c>websocket/13</c> does not contain <c>websocket</c>.
    /// </remarks>
    public static bool ContainsToken(ReadOnlySpan<char> headerValue, ReadOnlySpan<char> token)
    {
        foreach (var element in Enumerate(headerValue))
        {
            if (Ascii.EqualsIgnoreCase(element, token))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>
    /// Enumerates the non-empty elements of a comma-separated list with surrounding whitespace removed,
    /// without allocating: <c>foreach (var element in HeaderTokens.Enumerate(value))</c>.
    /// </summary>
    public static HeaderListEnumerator Enumerate(ReadOnlySpan<char> headerValue) => new(headerValue);

    /// <summary>True if <paramref name="value"/> is a non-empty run of token characters (RFC 9110 section 5.6.2).</summary>
    public static bool IsToken(ReadOnlySpan<char> value) => !value.IsEmpty && !value.ContainsAnyExcept(TokenChars);

    /// <summary>Removes optional whitespace (OWS: spaces and horizontal tabs, RFC 9110 section 5.6.3) from both ends.</summary>
    public static ReadOnlySpan<char> TrimOws(ReadOnlySpan<char> value) => value.Trim(" \t");

    /// <summary>The byte form of <see cref="TrimOws(ReadOnlySpan{char})"/>.</summary>
    public static ReadOnlySpan<byte> TrimOws(ReadOnlySpan<byte> value) => value.Trim(" \t"u8);

    internal static bool IsToken(ReadOnlySpan<byte> value) => !value.IsEmpty && !value.ContainsAnyExcept(TokenBytes);
}

/// <summary>
/// Walks the elements of a comma-separated header list (RFC 9110 section 5.6.1), yielding each non-empty element
/// with optional whitespace trimmed. Empty elements (<c>a, , b</c>) are skipped, as the RFC requires recipients to do.
/// </summary>
public ref struct HeaderListEnumerator
{
    private ReadOnlySpan<char> _remaining;
    private ReadOnlySpan<char> _current;
    private bool _finished;

    /// <summary>Starts an enumeration over <paramref name="headerValue"/>.</summary>
    public HeaderListEnumerator(ReadOnlySpan<char> headerValue)
    {
        _remaining = headerValue;
        _current = default;
        _finished = false;
    }

    /// <summary>The current element, trimmed and never empty.</summary>
    public readonly ReadOnlySpan<char> Current => _current;

    /// <summary>Returns this enumerator, so that it can be used in <c>foreach</c>.</summary>
    public readonly HeaderListEnumerator GetEnumerator() => this;

    /// <summary>Advances to the next non-empty element.</summary>
    public bool MoveNext()
    {
        while (!_finished)
        {
            ReadOnlySpan<char> element;
            int comma = _remaining.IndexOf(',');
            if (comma < 0)
            {
                element = _remaining;
                _remaining = default;
                _finished = true;
            }
            else
            {
                element = _remaining[..comma];
                _remaining = _remaining[(comma + 1)..];
            }

            element = HeaderTokens.TrimOws(element);
            if (!element.IsEmpty)
            {
                _current = element;
                return true;
            }
        }

        _current = default;
        return false;
    }
}
