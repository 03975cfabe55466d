using System.Globalization;
using System.Text;

namespace Shockwave.Protocol.Compression;

/// <summary>How a permessage-deflate negotiation ended.</summary>
public enum PerMessageDeflateNegotiationStatus
{
    /// <summary><see cref="PerMessageDeflateOptions.Enabled"/> is false; the header was not looked at.</summary>
    Disabled,

    /// <summary>The request offered no permessage-deflate (other extensions are ignored).</summary>
    NotOffered,

    /// <summary>
    /// Every permessage-deflate offer was invalid (unknown, repeated or ill-valued parameter, RFC 7692 section 7), so the
    /// response carries no permessage-deflate element (section 5) and the connection runs uncompressed.
    /// </summary>
    Declined,

    /// <summary>An offer was accepted; send <see cref="PerMessageDeflateNegotiation.ResponseHeaderValue"/>.</summary>
    Accepted,

    /// <summary>
    /// <c>Sec-WebSocket-Extensions</c> violates the header grammar (RFC 6455 section 9.1, for instance a quoted value that
    /// is not a token). RFC 6455 section 4.2.1 says the server MUST then stop processing the handshake and answer with an
    /// HTTP error such as 400 Bad Request; a lenient server may instead continue without extensions.
    /// </summary>
    MalformedHeader,
}

/// <summary>The outcome of <see cref="PerMessageDeflateNegotiator.Negotiate(string?)"/>.</summary>
/// <param name="Status">Whether an offer was accepted, and if not why.</param>
/// <param name="Parameters">The agreed parameters; meaningful only when <paramref name="Status"/> is <see cref="PerMessageDeflateNegotiationStatus.Accepted"/>.</param>
/// <param name="ResponseHeaderValue">The <c>Sec-WebSocket-Extensions</c> value to answer with, or <see langword="null"/> to send none.</param>
public readonly record struct PerMessageDeflateNegotiation(
    PerMessageDeflateNegotiationStatus Status,
    PerMessageDeflateParameters Parameters,
    string? ResponseHeaderValue)
{
    /// <summary>True when an offer was accepted and messages may be compressed.</summary>
    public bool IsAccepted => Status == PerMessageDeflateNegotiationStatus.Accepted;
}

/// <summary>
/// The server side of permessage-deflate negotiation (RFC 7692 sections 5 and 7): walks the client's offers in order and
/// accepts the first valid one, answering with parameters that are always legal for that offer.
/// </summary>
/// <remarks>
/// <para>An offer is declined, and the next one tried, when it (RFC 7692 section 7, checklist R7692-7-a1..a4):</para>
/// <list type="bullet">
/// <item>has a parameter RFC 7692 does not define for offers;</item>
/// <item>repeats a parameter;</item>
/// <item>gives <c>server_no_context_takeover</c> or <c>client_no_context_takeover</c> a value;</item>
/// <item>gives <c>server_max_window_bits</c> no value, or either window parameter a value that is not 8..15 written as
/// <c>1*DIGIT</c> without a leading zero (quoted values are unescaped first: <c>"10"</c> is fine).</item>
/// </list>
/// <para>
/// Every other offer is accepted: the codec honours any window from 8 to 15 (section 7.1.2.1) and any context takeover
/// setting. The answer echoes <c>server_no_context_takeover</c> and <c>client_no_context_takeover</c> when offered,
/// answers <c>server_max_window_bits</c> with the smaller of the offer and <see cref="PerMessageDeflateOptions.ServerMaxWindowBits"/>,
/// and answers <c>client_max_window_bits</c> only if it was offered, always with a value (section 7.1.2.2).
/// </para>
/// <para>Parameter and extension names are matched ignoring ASCII case; the answer spells them in lower case.</para>
/// </remarks>
public sealed class PerMessageDeflateNegotiator
{
    /// <summary>The registered extension name (RFC 7692 section 7).</summary>
    public const string ExtensionName = "permessage-deflate";

    internal const string ServerNoContextTakeoverName = "server_no_context_takeover";
    internal const string ClientNoContextTakeoverName = "client_no_context_takeover";
    internal const string ServerMaxWindowBitsName = "server_max_window_bits";
    internal const string ClientMaxWindowBitsName = "client_max_window_bits";

    private readonly PerMessageDeflateOptions _options;

    /// <summary>Creates a negotiator for a validated copy of <paramref name="options"/>.</summary>
    /// <exception cref="ArgumentOutOfRangeException">An option is outside its range.</exception>
    public PerMessageDeflateNegotiator(PerMessageDeflateOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();

        // A copy: options are mutable, and a negotiation must not see half of a later change.
        _options = options with { };
    }

    /// <summary>The options this negotiator applies.</summary>
    public PerMessageDeflateOptions Options => _options with { };

    /// <summary>Negotiates from one <c>Sec-WebSocket-Extensions</c> line (or none).</summary>
    public PerMessageDeflateNegotiation Negotiate(string? headerValue)
    {
        if (!_options.Enabled)
        {
            return new(PerMessageDeflateNegotiationStatus.Disabled, default, null);
        }

        return WebSocketExtensionParser.TryParse(headerValue, out var offers)
            ? Negotiate(offers)
            : new(PerMessageDeflateNegotiationStatus.MalformedHeader, default, null);
    }

    /// <summary>Negotiates from every <c>Sec-WebSocket-Extensions</c> line, in order (such as ASP.NET Core's <c>StringValues</c>).</summary>
    public PerMessageDeflateNegotiation Negotiate(IReadOnlyList<string?> headerValues)
    {
        ArgumentNullException.ThrowIfNull(headerValues);
        if (!_options.Enabled)
        {
            return new(PerMessageDeflateNegotiationStatus.Disabled, default, null);
        }

        return WebSocketExtensionParser.TryParse(headerValues, out var offers)
            ? Negotiate(offers)
            : new(PerMessageDeflateNegotiationStatus.MalformedHeader, default, null);
    }

    /// <summary>Negotiates from offers already parsed by <see cref="WebSocketExtensionParser"/>.</summary>
    public PerMessageDeflateNegotiation Negotiate(IReadOnlyList<WebSocketExtensionOffer> offers)
    {
        ArgumentNullException.ThrowIfNull(offers);
        if (!_options.Enabled)
        {
            return new(PerMessageDeflateNegotiationStatus.Disabled, default, null);
        }

        bool offered = false;
        for (int i = 0; i < offers.Count; i++)
        {
            var offer = offers[i];
            if (!offer.Name.Equals(ExtensionName, StringComparison.OrdinalIgnoreCase))
            {
                // Other extensions are never accepted; that also keeps RSV1 ours alone (RFC 7692 section 5, R7692-5-e).
                continue;
            }

            offered = true;
            if (TryReadOffer(offer, out var request))
            {
                return Accept(request);
            }
        }

        // R7692-5-i: declining every offer means no permessage-deflate element at all.
        return new(offered ? PerMessageDeflateNegotiationStatus.Declined : PerMessageDeflateNegotiationStatus.NotOffered, default, null);
    }

    private PerMessageDeflateNegotiation Accept(in OfferedParameters request)
    {
        bool serverNoContextTakeover = request.ServerNoContextTakeover || _options.ServerNoContextTakeover;

        // Echoing the client's hint costs nothing (R7692-7.2.2-c lets us ignore it, but then the client must keep a window
        // it said it would rather drop) and lets the server release its inflater between messages.
        bool clientNoContextTakeover = request.ClientNoContextTakeover || _options.RequireClientNoContextTakeover;

        // R7692-7.1.2.1-b: the same or a smaller value than offered; a server may also announce a limit unasked.
        int serverBits = Math.Min(request.ServerMaxWindowBits ?? PerMessageDeflateParameters.MaxWindowBits, _options.ServerMaxWindowBits);
        bool announceServerBits = request.ServerMaxWindowBits is not null || serverBits < PerMessageDeflateParameters.MaxWindowBits;

        // R7692-7.1.2.2-b/c: only answer client_max_window_bits if it was offered, and then always with a value that is
        // not larger than the client's. Without one, the client may use the full 32 KiB window.
        int? clientBits = null;
        if (request.ClientMaxWindowBitsOffered)
        {
            clientBits = _options.ClientMaxWindowBits is int wanted
                ? Math.Min(wanted, request.ClientMaxWindowBits ?? PerMessageDeflateParameters.MaxWindowBits)
                : request.ClientMaxWindowBits;
        }

        var parameters = new PerMessageDeflateParameters(
            serverNoContextTakeover,
            clientNoContextTakeover,
            serverBits,
            clientBits ?? PerMessageDeflateParameters.MaxWindowBits);

        var response = new StringBuilder(ExtensionName, 128);
        if (serverNoContextTakeover)
        {
            response.Append("; ").Append(ServerNoContextTakeoverName);
        }

        if (clientNoContextTakeover)
        {
            response.Append("; ").Append(ClientNoContextTakeoverName);
        }

        if (announceServerBits)
        {
            response.Append("; ").Append(ServerMaxWindowBitsName).Append('=').Append(serverBits.ToString(CultureInfo.InvariantCulture));
        }

        if (clientBits is int bits)
        {
            response.Append("; ").Append(ClientMaxWindowBitsName).Append('=').Append(bits.ToString(CultureInfo.InvariantCulture));
        }

        return new(PerMessageDeflateNegotiationStatus.Accepted, parameters, response.ToString());
    }

    private static bool TryReadOffer(WebSocketExtensionOffer offer, out OfferedParameters request)
    {
        request = default;
        bool serverNoContextTakeoverSeen = false, clientNoContextTakeoverSeen = false;
        bool serverBitsSeen = false, clientBitsSeen = false;
        foreach (var (name, value) in offer.Parameters)
        {
            if (name.Equals(ServerNoContextTakeoverName, StringComparison.OrdinalIgnoreCase))
            {
                // Section 7.1.1.1: no value. R7692-7-a3: no repeats.
                if (serverNoContextTakeoverSeen || value is not null)
                {
                    return false;
                }

                serverNoContextTakeoverSeen = true;
                request.ServerNoContextTakeover = true;
            }
            else if (name.Equals(ClientNoContextTakeoverName, StringComparison.OrdinalIgnoreCase))
            {
                // Section 7.1.1.2: no value.
                if (clientNoContextTakeoverSeen || value is not null)
                {
                    return false;
                }

                clientNoContextTakeoverSeen = true;
                request.ClientNoContextTakeover = true;
            }
            else if (name.Equals(ServerMaxWindowBitsName, StringComparison.OrdinalIgnoreCase))
            {
                // Section 7.1.2.1 (R7692-7.1.2.1-a): a value is required.
                if (serverBitsSeen || !TryParseWindowBits(value, out int bits))
                {
                    return false;
                }

                serverBitsSeen = true;
                request.ServerMaxWindowBits = bits;
            }
            else if (name.Equals(ClientMaxWindowBitsName, StringComparison.OrdinalIgnoreCase))
            {
                // Section 7.1.2.2 (R7692-7.1.2.2-a): the value is optional, but valid if present.
                if (clientBitsSeen)
                {
                    return false;
                }

                clientBitsSeen = true;
                request.ClientMaxWindowBitsOffered = true;
                if (value is not null)
                {
                    if (!TryParseWindowBits(value, out int bits))
                    {
                        return false;
                    }

                    request.ClientMaxWindowBits = bits;
                }
            }
            else
            {
                // R7692-7-a1: a parameter not defined for offers.
                return false;
            }
        }

        return true;
    }

    // 1*DIGIT with no leading zero, 8..15 (sections 7.1.2.1 and 7.1.2.2). Exactly "8", "9" or "10".."15".
    internal static bool TryParseWindowBits(string? value, out int bits)
    {
        bits = 0;
        switch (value)
        {
            case [>= '8' and <= '9']:
                bits = value[0] - '0';
                return true;
            case ['1', >= '0' and <= '5']:
                bits = 10 + (value[1] - '0');
                return true;
            default:
                return false;
        }
    }

    private struct OfferedParameters
    {
        public bool ServerNoContextTakeover;
        public bool ClientNoContextTakeover;
        public int? ServerMaxWindowBits;
        public bool ClientMaxWindowBitsOffered;
        public int? ClientMaxWindowBits;
    }
}
