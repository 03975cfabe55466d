using System.Buffers;
using System.Text;

namespace Shockwave.Protocol.Compression;

/// <summary>One parameter of an extension offer: <c>client_max_window_bits</c> or <c>server_max_window_bits=10</c>.</summary>
/// <param name="Name">The parameter name, a token, as the client spelled it.</param>
/// <param name="Value">
/// The value with any quoted-string unescaped, or <see langword="null"/> when the parameter had none.
/// An empty string never occurs: a value is always a non-empty token (RFC 6455 section 9.1).
/// </param>
public readonly record struct WebSocketExtensionParameter(string Name, string? Value);

/// <summary>One element of <c>Sec-WebSocket-Extensions</c>: an extension name and its parameters in the order sent.</summary>
/// <param name="Name">The extension token, for example <c>permessage-deflate</c>, as the client spelled it.</param>
/// <param name="Parameters">The parameters in the order sent, duplicates included (the extension decides what they mean).</param>
public sealed record WebSocketExtensionOffer(string Name, IReadOnlyList<WebSocketExtensionParameter> Parameters);

/// <summary>
/// Parses <c>Sec-WebSocket-Extensions</c> (RFC 6455 sections 4.3 and 9.1) into offers, in order, across any number of
/// header lines (which RFC 9110 section 5.3 makes equivalent to one line joined with commas).
/// </summary>
/// <remarks>
/// <para>The grammar, with RFC 9110's list and whitespace rules:</para>
/// <code>
/// extension-list  = 1#extension
/// extension       = extension-token *( OWS ";" OWS extension-param )
/// extension-param = token [ OWS "=" OWS ( token / quoted-string ) ]
/// </code>
/// <para>
/// Empty list elements (<c>a, , b</c>) and empty parameters (<c>a;;b</c>, a trailing <c>;</c>) are skipped, as RFC 9110
/// sections 5.6.1.2 and 5.6.6 tell recipients to. A quoted-string value is unescaped (quoted-pair, RFC 9110 section 5.6.4)
/// and must then be a token (RFC 6455 section 9.1, checklist R6455-4.3-a): <c>"10"</c> is <c>10</c>, <c>"1 0"</c> is an error.
/// </para>
/// <para>
/// Any violation fails the whole header rather than one element: once a quote or separator is out of place, where the
/// next element starts is a guess. RFC 6455 section 4.2.1 says a handshake that violates the ABNF of its header fields
/// MUST be answered with an error such as 400, and the optional <c>Sec-WebSocket-Extensions</c> is one of those fields.
/// </para>
/// </remarks>
public static class WebSocketExtensionParser
{
    // RFC 9110 section 5.6.2: tchar = "!" / "#" / "$" / "%" / "&" / "'" / "*" / "+" / "-" / "." / "^" / "_" / "`" / "|" / "~" / DIGIT / ALPHA.
    private static readonly SearchValues<char> TokenChars =
        SearchValues.Create("!#$%&'*+-.^_`|~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz");

    /// <summary>Parses one header line. Returns false, with <paramref name="offers"/> empty, if the line is malformed.</summary>
    /// <param name="headerValue">The field value; <see langword="null"/> or empty yields no offers.</param>
    /// <param name="offers">The offers in the order sent.</param>
    public static bool TryParse(string? headerValue, out IReadOnlyList<WebSocketExtensionOffer> offers)
    {
        var list = new List<WebSocketExtensionOffer>();
        if (!TryParseInto(headerValue, list))
        {
            offers = [];
            return false;
        }

        offers = list;
        return true;
    }

    /// <summary>
    /// Parses every line of the field, in order. Returns false, with <paramref name="offers"/> empty, if any line is malformed.
    /// </summary>
    /// <param name="headerValues">The field's lines, for example ASP.NET Core's <c>StringValues</c>; null entries are skipped.</param>
    /// <param name="offers">The offers of all lines in the order sent.</param>
    public static bool TryParse(IReadOnlyList<string?> headerValues, out IReadOnlyList<WebSocketExtensionOffer> offers)
    {
        ArgumentNullException.ThrowIfNull(headerValues);
        var list = new List<WebSocketExtensionOffer>();
        for (int i = 0; i < headerValues.Count; i++)
        {
            if (!TryParseInto(headerValues[i], list))
            {
                offers = [];
                return false;
            }
        }

        offers = list;
        return true;
    }

    private static bool TryParseInto(string? headerValue, List<WebSocketExtensionOffer> offers)
    {
        if (string.IsNullOrEmpty(headerValue))
        {
            return true;
        }

        var reader = new Cursor(headerValue);
        while (true)
        {
            reader.SkipOws();
            if (reader.AtEnd)
            {
                return true;
            }

            if (reader.TryConsume(','))
            {
                // An empty list element (RFC 9110 section 5.6.1.2).
                continue;
            }

            if (!reader.TryReadToken(out string name))
            {
                return false;
            }

            List<WebSocketExtensionParameter>? parameters = null;
            reader.SkipOws();
            while (reader.TryConsume(';'))
            {
                reader.SkipOws();
                if (reader.AtEnd || reader.Peek is ';' or ',')
                {
                    // An empty parameter (RFC 9110 section 5.6.6 allows "a;;b" and a trailing ";").
                    continue;
                }

                if (!reader.TryReadToken(out string parameterName))
                {
                    return false;
                }

                string? value = null;
                reader.SkipOws();
                if (reader.TryConsume('='))
                {
                    reader.SkipOws();
                    if (!reader.TryReadValue(out value))
                    {
                        return false;
                    }

                    reader.SkipOws();
                }

                (parameters ??= []).Add(new WebSocketExtensionParameter(parameterName, value));
            }

            offers.Add(new WebSocketExtensionOffer(name, parameters is null ? [] : parameters.ToArray()));

            if (reader.AtEnd)
            {
                return true;
            }

            // Anything but a comma here is text after an element that the grammar does not allow ("a b", "a=1").
            if (!reader.TryConsume(','))
            {
                return false;
            }
        }
    }

    private ref struct Cursor(ReadOnlySpan<char> text)
    {
        private readonly ReadOnlySpan<char> _text = text;
        private int _position;

        public readonly bool AtEnd => _position >= _text.Length;

        public readonly char Peek => _text[_position];

        public void SkipOws()
        {
            // OWS = *( SP / HTAB ), RFC 9110 section 5.6.3.
            while (_position < _text.Length && _text[_position] is ' ' or '\t')
            {
                _position++;
            }
        }

        public bool TryConsume(char c)
        {
            if (_position < _text.Length && _text[_position] == c)
            {
                _position++;
                return true;
            }

            return false;
        }

        public bool TryReadToken(out string token)
        {
            var rest = _text[_position..];
            int length = rest.IndexOfAnyExcept(TokenChars);
            if (length < 0)
            {
                length = rest.Length;
            }

            if (length == 0)
            {
                token = string.Empty;
                return false;
            }

            token = rest[..length].ToString();
            _position += length;
            return true;
        }

        public bool TryReadValue(out string? value)
        {
            if (!AtEnd && Peek == '"')
            {
                return TryReadQuotedToken(out value);
            }

            bool ok = TryReadToken(out string token);
            value = token;
            return ok;
        }

        private bool TryReadQuotedToken(out string? value)
        {
            // quoted-string = DQUOTE *( qdtext / quoted-pair ) DQUOTE; quoted-pair = "\" ( HTAB / SP / VCHAR / obs-text )
            // (RFC 9110 section 5.6.4). After unescaping the value MUST be a token (RFC 6455 section 9.1), so every
            // character that qdtext or quoted-pair would allow but tchar does not (space, tab, obs-text, separators)
            // ends in the same verdict; only the shape of the string is checked here and the token rule after.
            value = null;
            _position++; // opening DQUOTE
            StringBuilder? unescaped = null;
            int start = _position;
            while (true)
            {
                if (AtEnd)
                {
                    return false; // unterminated
                }

                char c = _text[_position];
                if (c == '"')
                {
                    break;
                }

                if (c == '\\')
                {
                    unescaped ??= new StringBuilder().Append(_text[start.._position]);
                    _position++;
                    if (AtEnd || !IsQuotedPairChar(_text[_position]))
                    {
                        return false;
                    }

                    unescaped.Append(_text[_position]);
                }
                else if (!IsQdText(c))
                {
                    return false;
                }
                else
                {
                    unescaped?.Append(c);
                }

                _position++;
            }

            var raw = _text[start.._position];
            _position++; // closing DQUOTE
            string text = unescaped?.ToString() ?? raw.ToString();
            if (text.Length == 0 || text.AsSpan().ContainsAnyExcept(TokenChars))
            {
                return false; // R6455-4.3-a: not a token after unescaping
            }

            value = text;
            return true;
        }

        // qdtext = HTAB / SP / %x21 / %x23-5B / %x5D-7E / obs-text
        private static bool IsQdText(char c) =>
            c is '\t' or ' ' or '\x21' || (c >= '\x23' && c <= '\x5B') || (c >= '\x5D' && c <= '\x7E') || (c >= '\x80' && c <= '\xFF');

        // HTAB / SP / VCHAR / obs-text
        private static bool IsQuotedPairChar(char c) => c is '\t' || (c >= ' ' && c <= '\x7E') || (c >= '\x80' && c <= '\xFF');
    }
}
