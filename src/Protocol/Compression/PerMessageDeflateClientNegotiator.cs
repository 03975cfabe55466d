using System.Globalization;
using System.Text;
using static Shockwave.Protocol.Compression.PerMessageDeflateNegotiator;

namespace Shockwave.Protocol.Compression;

/// <summary>
/// Why a client refused the server's permessage-deflate answer (RFC 7692 sections 5 and 7, checklist R7692-7-b). Each one
/// fails the connection (RFC 6455 section 7.1.7); RFC 7692 section 5.1 suggests close code 1010 if it is already open.
/// The names are stable: use them in logs and metrics.
/// </summary>
public enum PerMessageDeflateResponseError
{
    /// <summary>The answer is acceptable.</summary>
    None,

    /// <summary>A parameter RFC 7692 does not define (R7692-7-b).</summary>
    UnknownParameter,

    /// <summary>A parameter appears twice in the element (R7692-7-b).</summary>
    DuplicateParameter,

    /// <summary>
    /// A <c>*_no_context_takeover</c> with a value, or a <c>*_max_window_bits</c> without one or with one that is not 8..15
    /// written without leading zeros (R7692-7-b, R7692-7.1.2.1-b, R7692-7.1.2.2-b).
    /// </summary>
    InvalidParameterValue,

    /// <summary><c>client_max_window_bits</c> in the answer though the offer did not have it (R7692-7.1.2.2-c).</summary>
    UnofferedClientMaxWindowBits,

    /// <summary>
    /// The offer asked for <c>server_max_window_bits</c> and the answer does not have it: a server accepts that request only by
    /// answering it (RFC 7692 section 7.1.2.1), and the client may have sized its inflater on it.
    /// </summary>
    MissingServerMaxWindowBits,

    /// <summary><c>server_max_window_bits</c> larger than the offer asked for (R7692-7.1.2.1-b).</summary>
    ServerMaxWindowBitsTooLarge,

    /// <summary>
    /// The offer asked for <c>server_no_context_takeover</c> and the answer does not have it: a server accepts that request
    /// only by answering it (RFC 7692 section 7.1.1.1).
    /// </summary>
    MissingServerNoContextTakeover,

    /// <summary>More than one permessage-deflate element: a server accepts at most one offer (RFC 7692 section 5, R7692-5-j).</summary>
    DuplicateElement,

    /// <summary>
    /// An element naming another extension. The client offered permessage-deflate alone (R6455-4.1-ag), and no other
    /// extension may share RSV1 with it (R7692-5-f).
    /// </summary>
    UnexpectedExtension,
}

/// <summary>
/// The client's permessage-deflate offer (RFC 7692 section 7.1): what it asks of the server and tells it about itself.
/// <see cref="ToHeaderValue"/> writes it; <see cref="PerMessageDeflateClientNegotiator"/> judges the answer against it.
/// </summary>
/// <remarks>
/// The default instance is a bare <c>permessage-deflate</c>. <see cref="FromOptions"/> builds the usual offer, which always
/// includes <c>client_max_window_bits</c> so that the server may limit the client's window.
/// </remarks>
public readonly record struct PerMessageDeflateClientOffer
{
    /// <summary>Ask the server to compress every message with an empty window (section 7.1.1.1); it must then say so.</summary>
    public bool ServerNoContextTakeover { get; init; }

    /// <summary>
    /// Tell the server the client compresses every message with an empty window (section 7.1.1.2). The client keeps that
    /// promise whatever the answer says, so the server may release its inflater between messages.
    /// </summary>
    public bool ClientNoContextTakeover { get; init; }

    /// <summary>
    /// Ask the server to compress with a window of at most 2^n bytes, n from 8 to 15 (section 7.1.2.1), so the client's
    /// inflater needs no more. <see langword="null"/> (the default) sends nothing: the server may use 32 KiB (R7692-5-b).
    /// </summary>
    public int? ServerMaxWindowBits { get; init; }

    /// <summary>
    /// Offer <c>client_max_window_bits</c> without a value (section 7.1.2.2): the client accepts any window the server names
    /// for it, and may be answered with one. Implied when <see cref="ClientMaxWindowBits"/> has a value.
    /// </summary>
    public bool OfferClientMaxWindowBits { get; init; }

    /// <summary>
    /// Offer <c>client_max_window_bits=n</c>, n from 8 to 15: the client compresses with at most 2^n bytes of window
    /// whatever the answer says (section 7.1.2.2), and the server may name a smaller one. <see langword="null"/> by default.
    /// </summary>
    public int? ClientMaxWindowBits { get; init; }

    /// <summary>Whether the offer has <c>client_max_window_bits</c>, with or without a value.</summary>
    public bool HasClientMaxWindowBits => OfferClientMaxWindowBits || ClientMaxWindowBits is not null;

    /// <summary>
    /// The offer a client with <paramref name="options"/> makes, or <see langword="null"/> when
    /// <see cref="PerMessageDeflateOptions.Enabled"/> is false and nothing should be offered.
    /// </summary>
    /// <remarks>
    /// The options keep their meaning from the server's side: <see cref="PerMessageDeflateOptions.ServerMaxWindowBits"/> below 15
    /// asks the server for that window, <see cref="PerMessageDeflateOptions.ServerNoContextTakeover"/> asks it for
    /// no context takeover, <see cref="PerMessageDeflateOptions.RequireClientNoContextTakeover"/> makes the client compress
    /// each message alone, and <see cref="PerMessageDeflateOptions.ClientMaxWindowBits"/> caps the client's window (left
    /// <see langword="null"/>, the parameter is offered bare so the server may choose). The level, codec and memory level
    /// are the client compressor's business, not the offer's.
    /// </remarks>
    /// <exception cref="ArgumentOutOfRangeException">An option is outside its range.</exception>
    public static PerMessageDeflateClientOffer? FromOptions(PerMessageDeflateOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        if (!options.Enabled)
        {
            return null;
        }

        return new PerMessageDeflateClientOffer
        {
            ServerNoContextTakeover = options.ServerNoContextTakeover,
            ClientNoContextTakeover = options.RequireClientNoContextTakeover,

            // Absence already means 32 KiB (R7692-5-b); asking for 15 would only oblige the server to echo it.
            ServerMaxWindowBits = options.ServerMaxWindowBits < PerMessageDeflateParameters.MaxWindowBits ? options.ServerMaxWindowBits : null,
            OfferClientMaxWindowBits = true,
            ClientMaxWindowBits = options.ClientMaxWindowBits,
        };
    }

    /// <summary>Throws <see cref="ArgumentOutOfRangeException"/> if a window is outside 8..15 (R7692-7.1.2.1-a, R7692-7.1.2.2-a).</summary>
    public void Validate()
    {
        if (ServerMaxWindowBits is int serverBits)
        {
            PerMessageDeflateOptions.ValidateWindowBits(serverBits, nameof(ServerMaxWindowBits));
        }

        if (ClientMaxWindowBits is int clientBits)
        {
            PerMessageDeflateOptions.ValidateWindowBits(clientBits, nameof(ClientMaxWindowBits));
        }
    }

    /// <summary>
    /// The offer as a <c>Sec-WebSocket-Extensions</c> element (R7692-5-a), parameter names in lower case, for example
    /// <c>permessage-deflate; server_max_window_bits=10; client_max_window_bits</c>.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">A window is outside 8..15.</exception>
    public string ToHeaderValue()
    {
        Validate();
        var value = new StringBuilder(ExtensionName, 128);
        if (ServerNoContextTakeover)
        {
            value.Append("; ").Append(ServerNoContextTakeoverName);
        }

        if (ClientNoContextTakeover)
        {
            value.Append("; ").Append(ClientNoContextTakeoverName);
        }

        if (ServerMaxWindowBits is int serverBits)
        {
            value.Append("; ").Append(ServerMaxWindowBitsName).Append('=').Append(serverBits.ToString(CultureInfo.InvariantCulture));
        }

        if (ClientMaxWindowBits is int clientBits)
        {
            value.Append("; ").Append(ClientMaxWindowBitsName).Append('=').Append(clientBits.ToString(CultureInfo.InvariantCulture));
        }
        else if (OfferClientMaxWindowBits)
        {
            value.Append("; ").Append(ClientMaxWindowBitsName);
        }

        return value.ToString();
    }
}

/// <summary>
/// The client side of permessage-deflate negotiation (RFC 7692 sections 5 and 7): judges the server's answer to a
/// <see cref="PerMessageDeflateClientOffer"/> and turns it into the <see cref="PerMessageDeflateParameters"/> the client's
/// codec runs with, <c>new PerMessageDeflateCompressor(parameters, options, WebSocketRole.Client)</c> and the matching
/// <see cref="PerMessageDeflateDecompressor"/>.
/// </summary>
/// <remarks>
/// <para>The answer is refused (R7692-7-b) when it:</para>
/// <list type="bullet">
/// <item>has a parameter RFC 7692 does not define, or one twice;</item>
/// <item>gives a <c>*_no_context_takeover</c> a value, or a <c>*_max_window_bits</c> no value or one that is not 8..15
/// written as <c>1*DIGIT</c> without a leading zero (quoted values are unescaped first);</item>
/// <item>has <c>client_max_window_bits</c> though the offer did not (R7692-7.1.2.2-c);</item>
/// <item>leaves out, or exceeds, a <c>server_max_window_bits</c> the offer asked for (R7692-7.1.2.1-b), or leaves out a
/// requested <c>server_no_context_takeover</c> (section 7.1.1.1): a server that cannot grant these must decline the offer.</item>
/// </list>
/// <para>
/// Everything else is accepted: <c>server_no_context_takeover</c>, <c>client_no_context_takeover</c> (which a client must
/// support, R7692-7.1.1.2-a) and <c>server_max_window_bits</c> may all come unasked. A <c>client_max_window_bits</c> larger
/// than the offer's value is accepted too: the client still keeps to its own value, as section 7.1.2.2 says it will.
/// Parameter and extension names are matched ignoring ASCII case, as the server's negotiator matches them.
/// </para>
/// </remarks>
public static class PerMessageDeflateClientNegotiator
{
    /// <summary>
    /// Judges the elements of the answer's <c>Sec-WebSocket-Extensions</c> (parsed by <see cref="WebSocketExtensionParser"/>,
    /// all lines) against <paramref name="offer"/>.
    /// </summary>
    /// <param name="offer">What the client offered.</param>
    /// <param name="responseElements">The answer's elements, in order.</param>
    /// <param name="parameters">
    /// The parameters to run the codec with, or <see langword="null"/> when the answer has no permessage-deflate element:
    /// the server declined (R7692-5-i) and the connection runs uncompressed.
    /// </param>
    /// <returns><see cref="PerMessageDeflateResponseError.None"/>, or why the connection must fail.</returns>
    public static PerMessageDeflateResponseError Accept(
        in PerMessageDeflateClientOffer offer,
        IReadOnlyList<WebSocketExtensionOffer> responseElements,
        out PerMessageDeflateParameters? parameters)
    {
        ArgumentNullException.ThrowIfNull(responseElements);
        parameters = null;
        WebSocketExtensionOffer? element = null;
        for (int i = 0; i < responseElements.Count; i++)
        {
            if (!responseElements[i].Name.Equals(ExtensionName, StringComparison.OrdinalIgnoreCase))
            {
                return PerMessageDeflateResponseError.UnexpectedExtension;
            }

            if (element is not null)
            {
                return PerMessageDeflateResponseError.DuplicateElement;
            }

            element = responseElements[i];
        }

        if (element is null)
        {
            return PerMessageDeflateResponseError.None;
        }

        var error = Accept(offer, element, out var accepted);
        if (error == PerMessageDeflateResponseError.None)
        {
            parameters = accepted;
        }

        return error;
    }

    /// <summary>Judges one permessage-deflate element of the answer against <paramref name="offer"/>.</summary>
    /// <param name="offer">What the client offered.</param>
    /// <param name="responseElement">The server's permessage-deflate element; its name is not checked here.</param>
    /// <param name="parameters">The parameters to run the codec with when the result is <see cref="PerMessageDeflateResponseError.None"/>, else default.</param>
    /// <returns><see cref="PerMessageDeflateResponseError.None"/>, or why the connection must fail.</returns>
    /// <remarks>
    /// The result is from the client's side where the client is free to be stricter than agreed: it resets its window per
    /// message if it promised to (<see cref="PerMessageDeflateClientOffer.ClientNoContextTakeover"/>) and compresses with
    /// the smaller of the answered and offered <c>client_max_window_bits</c>. Both only ever make the client's output easier
    /// to inflate, so the server's own parameters for the same answer still decode it (R7692-7.2.2-c).
    /// </remarks>
    public static PerMessageDeflateResponseError Accept(
        in PerMessageDeflateClientOffer offer,
        WebSocketExtensionOffer responseElement,
        out PerMessageDeflateParameters parameters)
    {
        ArgumentNullException.ThrowIfNull(responseElement);
        offer.Validate();
        parameters = default;
        bool serverNoContextTakeover = false, clientNoContextTakeover = false;
        int? serverBits = null, clientBits = null;
        foreach (var (name, value) in responseElement.Parameters)
        {
            if (name.Equals(ServerNoContextTakeoverName, StringComparison.OrdinalIgnoreCase))
            {
                // Section 7.1.1.1: no value; the server may add it unasked.
                if (serverNoContextTakeover)
                {
                    return PerMessageDeflateResponseError.DuplicateParameter;
                }

                if (value is not null)
                {
                    return PerMessageDeflateResponseError.InvalidParameterValue;
                }

                serverNoContextTakeover = true;
            }
            else if (name.Equals(ClientNoContextTakeoverName, StringComparison.OrdinalIgnoreCase))
            {
                // Section 7.1.1.2: no value; R7692-7.1.1.2-a: the client must support it in any answer.
                if (clientNoContextTakeover)
                {
                    return PerMessageDeflateResponseError.DuplicateParameter;
                }

                if (value is not null)
                {
                    return PerMessageDeflateResponseError.InvalidParameterValue;
                }

                clientNoContextTakeover = true;
            }
            else if (name.Equals(ServerMaxWindowBitsName, StringComparison.OrdinalIgnoreCase))
            {
                // R7692-7.1.2.1-b: a value, 8..15 without leading zeros; the server may add it unasked.
                if (serverBits is not null)
                {
                    return PerMessageDeflateResponseError.DuplicateParameter;
                }

                if (!TryParseWindowBits(value, out int bits))
                {
                    return PerMessageDeflateResponseError.InvalidParameterValue;
                }

                serverBits = bits;
            }
            else if (name.Equals(ClientMaxWindowBitsName, StringComparison.OrdinalIgnoreCase))
            {
                // R7692-7.1.2.2-c: never unasked. R7692-7.1.2.2-b: in an answer it always has a value.
                if (!offer.HasClientMaxWindowBits)
                {
                    return PerMessageDeflateResponseError.UnofferedClientMaxWindowBits;
                }

                if (clientBits is not null)
                {
                    return PerMessageDeflateResponseError.DuplicateParameter;
                }

                if (!TryParseWindowBits(value, out int bits))
                {
                    return PerMessageDeflateResponseError.InvalidParameterValue;
                }

                clientBits = bits;
            }
            else
            {
                return PerMessageDeflateResponseError.UnknownParameter;
            }
        }

        // Sections 7.1.1.1 and 7.1.2.1: a server grants these requests by answering them, or declines the whole offer.
        if (offer.ServerNoContextTakeover && !serverNoContextTakeover)
        {
            return PerMessageDeflateResponseError.MissingServerNoContextTakeover;
        }

        if (offer.ServerMaxWindowBits is int asked)
        {
            if (serverBits is null)
            {
                return PerMessageDeflateResponseError.MissingServerMaxWindowBits;
            }

            if (serverBits > asked)
            {
                return PerMessageDeflateResponseError.ServerMaxWindowBitsTooLarge;
            }
        }

        // Unanswered windows are 32 KiB (section 7.1.2). The client's own limit holds whatever the answer (section 7.1.2.2).
        parameters = new PerMessageDeflateParameters(
            ServerNoContextTakeover: serverNoContextTakeover,
            ClientNoContextTakeover: clientNoContextTakeover || offer.ClientNoContextTakeover,
            ServerMaxWindowBits: serverBits ?? PerMessageDeflateParameters.MaxWindowBits,
            ClientMaxWindowBits: Math.Min(clientBits ?? PerMessageDeflateParameters.MaxWindowBits, offer.ClientMaxWindowBits ?? PerMessageDeflateParameters.MaxWindowBits));
        return PerMessageDeflateResponseError.None;
    }

    /// <summary>A fixed English sentence for <paramref name="error"/>, for logs. Never contains response data.</summary>
    public static string GetMessage(PerMessageDeflateResponseError error) => error switch
    {
        PerMessageDeflateResponseError.None => "The permessage-deflate answer is acceptable.",
        PerMessageDeflateResponseError.UnknownParameter => "The permessage-deflate answer has a parameter RFC 7692 does not define.",
        PerMessageDeflateResponseError.DuplicateParameter => "The permessage-deflate answer repeats a parameter.",
        PerMessageDeflateResponseError.InvalidParameterValue => "The permessage-deflate answer has a parameter with an invalid or missing value.",
        PerMessageDeflateResponseError.UnofferedClientMaxWindowBits => "The permessage-deflate answer has client_max_window_bits, which the client did not offer.",
        PerMessageDeflateResponseError.MissingServerMaxWindowBits => "The permessage-deflate answer lacks the server_max_window_bits the client asked for.",
        PerMessageDeflateResponseError.ServerMaxWindowBitsTooLarge => "The permessage-deflate answer has a server_max_window_bits larger than the client asked for.",
        PerMessageDeflateResponseError.MissingServerNoContextTakeover => "The permessage-deflate answer lacks the server_no_context_takeover the client asked for.",
        PerMessageDeflateResponseError.DuplicateElement => "The answer accepts permessage-deflate more than once.",
        PerMessageDeflateResponseError.UnexpectedExtension => "The answer accepts an extension other than permessage-deflate.",
        _ => throw new ArgumentOutOfRangeException(nameof(error), error, "Unknown error."),
    };
}
