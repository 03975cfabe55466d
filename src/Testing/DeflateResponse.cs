using System.Globalization;
using Shockwave.Protocol.Compression;

namespace Shockwave.Testing;

/// <summary>
/// Reads the permessage-deflate element of a 101 from the client's side (RFC 7692 section 7.1): the parameters the
/// server agreed to, or why the client must fail the connection. Only what the test client needs to run the runtime's
/// codec in the client role.
/// </summary>
internal static class DeflateResponse
{
    private const string ServerNoContextTakeover = "server_no_context_takeover";
    private const string ClientNoContextTakeover = "client_no_context_takeover";
    private const string ServerMaxWindowBits = "server_max_window_bits";
    private const string ClientMaxWindowBits = "client_max_window_bits";

    /// <summary>Returns null and the parameters when the response is one a client may accept, otherwise why not.</summary>
    public static string? TryRead(WebSocketExtensionOffer accepted, IReadOnlyList<WebSocketExtensionOffer> offered, out PerMessageDeflateParameters parameters)
    {
        parameters = default;
        bool serverNoContextTakeover = false, clientNoContextTakeover = false;
        int? serverBits = null, clientBits = null;
        foreach (var (name, value) in accepted.Parameters)
        {
            bool valid;
            if (Is(name, ServerNoContextTakeover))
            {
                valid = !serverNoContextTakeover && value is null;
                serverNoContextTakeover = true;
            }
            else if (Is(name, ClientNoContextTakeover))
            {
                valid = !clientNoContextTakeover && value is null;
                clientNoContextTakeover = true;
            }
            else if (Is(name, ServerMaxWindowBits))
            {
                valid = TryParseWindowBits(value, out int bits) && serverBits is null;
                serverBits = bits;
            }
            else if (Is(name, ClientMaxWindowBits))
            {
                // Section 7.1.2.2: the server may send it only when the client offered it, and then with a value.
                valid = TryParseWindowBits(value, out int bits) && clientBits is null && OfferedClientWindowBits(offered);
                clientBits = bits;
            }
            else
            {
                valid = false;
            }

            if (!valid)
            {
                return $"The 101 response's permessage-deflate parameter '{name}{(value is null ? string.Empty : "=" + value)}' is not one a client may accept (RFC 7692 section 7.1).";
            }
        }

        parameters = new PerMessageDeflateParameters(
            serverNoContextTakeover,
            clientNoContextTakeover,
            serverBits ?? PerMessageDeflateParameters.MaxWindowBits,
            clientBits ?? PerMessageDeflateParameters.MaxWindowBits);
        return null;
    }

    private static bool OfferedClientWindowBits(IReadOnlyList<WebSocketExtensionOffer> offered) =>
        offered.Any(offer => Is(offer.Name, PerMessageDeflateNegotiator.ExtensionName) && offer.Parameters.Any(parameter => Is(parameter.Name, ClientMaxWindowBits)));

    // 1*DIGIT without a leading zero, 8 to 15 (sections 7.1.2.1 and 7.1.2.2).
    private static bool TryParseWindowBits(string? value, out int bits)
    {
        bits = 0;
        return value is { Length: 1 or 2 } && value[0] != '0'
            && int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out bits)
            && bits is >= PerMessageDeflateParameters.MinWindowBits and <= PerMessageDeflateParameters.MaxWindowBits;
    }

    private static bool Is(string name, string expected) => string.Equals(name, expected, StringComparison.OrdinalIgnoreCase);
}
