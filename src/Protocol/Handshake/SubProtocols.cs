namespace Shockwave.Protocol.Handshake;

/// <summary>
/// Subprotocol negotiation: reads the client's <c>Sec-WebSocket-Protocol</c> offers and picks the one the server will
/// name in its 101 response (RFC 6455 sections 4.2.2 and 11.3.4).
/// </summary>
public static class SubProtocols
{
    /// <summary>
    /// Picks the subprotocol to accept from one <c>Sec-WebSocket-Protocol</c> request value (a comma-separated list, or
    /// several header lines already joined with commas, which RFC 9110 section 5.3 makes equivalent).
    /// </summary>
    /// <param name="requestHeaderValue">The client's offers; empty or absent means none.</param>
    /// <param name="serverSupported">
    /// The server's subprotocols, most preferred first. Validate them with <see cref="IsValidName"/> at startup: an invalid
    /// name can never be selected.
    /// </param>
    /// <returns>
    /// The first entry of <paramref name="serverSupported"/> that the client also offered, or null when there is none, in
    /// which case the response carries no <c>Sec-WebSocket-Protocol</c> header (R6455-4.2.2-g).
    /// </returns>
    /// <remarks>
    /// <para>
    /// The server's order wins, not the client's: the server knows which protocol version it serves best, and RFC 6455
    /// leaves the choice to it ("the server selects one or none of the acceptable protocols", section 1.3). The result is
    /// always a value the client offered (R6455-4.2.2-f), and it is the server's own string instance, so a long-lived
    /// connection does not keep the request's header strings alive.
    /// </para>
    /// <para>
    /// Names compare case-sensitively: a browser fails the connection unless the response echoes one of its offers
    /// exactly, so <c>Chat</c> must not answer an offer of <c>chat</c>.
    /// </para>
    /// <para>
    /// An offered element that is not a valid name (R6455-4.1-aa: empty, outside U+0021 to U+007E, or containing a
    /// separator) is ignored rather than failing the handshake: it can never equal a valid server name, so it cannot be
    /// selected, and a client's malformed optional offer should cost it that offer, not the connection.
    /// Duplicates are harmless and ignored too.
    /// </para>
    /// </remarks>
    public static string? Select(ReadOnlySpan<char> requestHeaderValue, IReadOnlyList<string> serverSupported)
    {
        ArgumentNullException.ThrowIfNull(serverSupported);
        int best = FindBest(requestHeaderValue, serverSupported, serverSupported.Count);
        return best < serverSupported.Count ? serverSupported[best] : null;
    }

    /// <summary>
    /// Picks the subprotocol to accept when the client sent several <c>Sec-WebSocket-Protocol</c> header lines, each a
    /// comma-separated list. Same rules as <see cref="Select(ReadOnlySpan{char}, IReadOnlyList{string})"/>.
    /// </summary>
    /// <param name="requestHeaderValues">The header lines; null entries are skipped.</param>
    /// <param name="serverSupported">The server's subprotocols, most preferred first.</param>
    /// <returns>The server's instance of the chosen name, or null when the client offered none of them.</returns>
    public static string? Select(IEnumerable<string?> requestHeaderValues, IReadOnlyList<string> serverSupported)
    {
        ArgumentNullException.ThrowIfNull(requestHeaderValues);
        ArgumentNullException.ThrowIfNull(serverSupported);
        int best = serverSupported.Count;
        foreach (var value in requestHeaderValues)
        {
            best = FindBest(value, serverSupported, best);
            if (best == 0)
            {
                break;
            }
        }

        return best < serverSupported.Count ? serverSupported[best] : null;
    }

    /// <summary>
    /// True if <paramref name="name"/> may be offered or accepted as a subprotocol (R6455-4.1-aa): non-empty, characters in
    /// U+0021 to U+007E, none of the HTTP separators. That set is exactly an RFC 9110 token.
    /// </summary>
    public static bool IsValidName(ReadOnlySpan<char> name) => HeaderTokens.IsToken(name);

    // Returns the smallest server index (below 'best') whose name the client offered in 'value', or 'best' if none.
    private static int FindBest(ReadOnlySpan<char> value, IReadOnlyList<string> serverSupported, int best)
    {
        foreach (var offered in HeaderTokens.Enumerate(value))
        {
            if (!IsValidName(offered))
            {
                continue;
            }

            for (int i = 0; i < best; i++)
            {
                if (offered.SequenceEqual(serverSupported[i]))
                {
                    best = i;
                    break;
                }
            }

            if (best == 0)
            {
                break;
            }
        }

        return best;
    }
}
