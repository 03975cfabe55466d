using System.Globalization;

namespace Shockwave.Interop.Tests;

/// <summary>A permessage-deflate offer as a client sent it, to judge the server's answer against.</summary>
public sealed record DeflateOffer(
    bool ServerNoContextTakeover = false,
    bool ClientNoContextTakeover = false,
    int? ServerMaxWindowBits = null,
    bool ClientMaxWindowBitsOffered = false,
    int? ClientMaxWindowBits = null);

/// <summary>The parameters a server's <c>Sec-WebSocket-Extensions</c> answer agreed to.</summary>
public sealed record DeflateResponse(
    bool ServerNoContextTakeover,
    bool ClientNoContextTakeover,
    int? ServerMaxWindowBits,
    int? ClientMaxWindowBits)
{
    /// <summary>
    /// Parses <paramref name="header"/> and checks it is a legal answer to <paramref name="offer"/> (RFC 7692 section 7):
    /// exactly one permessage-deflate element (R7692-5-c), known parameters once each, window bits 8..15 without leading
    /// zeros and never above the offer (R7692-7.1.2.1-b, R7692-7.1.2.2-b), <c>client_max_window_bits</c> only when offered
    /// (R7692-7.1.2.2-c), and <c>server_no_context_takeover</c> echoed when offered (section 7.1.1.1).
    /// </summary>
    public static DeflateResponse ParseLegal(string? header, DeflateOffer offer)
    {
        if (string.IsNullOrWhiteSpace(header))
        {
            throw new InvalidOperationException("The server declined permessage-deflate: no Sec-WebSocket-Extensions in its answer.");
        }

        var elements = header.Split(',');
        Check(elements.Length == 1, header, "more than one extension element");
        var parts = elements[0].Split(';', StringSplitOptions.TrimEntries);
        Check(parts[0] == "permessage-deflate", header, "the element is not permessage-deflate");

        bool serverNoContext = false, clientNoContext = false;
        int? serverBits = null, clientBits = null;
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var part in parts.Skip(1))
        {
            int equals = part.IndexOf('=', StringComparison.Ordinal);
            string name = (equals < 0 ? part : part[..equals]).Trim();
            string? value = equals < 0 ? null : part[(equals + 1)..].Trim();
            Check(seen.Add(name), header, $"'{name}' repeated");
            switch (name)
            {
                case "server_no_context_takeover":
                    Check(value is null, header, "server_no_context_takeover has a value");
                    serverNoContext = true;
                    break;
                case "client_no_context_takeover":
                    Check(value is null, header, "client_no_context_takeover has a value");
                    clientNoContext = true;
                    break;
                case "server_max_window_bits":
                    serverBits = WindowBits(value, header, name);
                    Check(offer.ServerMaxWindowBits is not int offered || serverBits <= offered, header, $"server_max_window_bits above the offered {offer.ServerMaxWindowBits}");
                    break;
                case "client_max_window_bits":
                    Check(offer.ClientMaxWindowBitsOffered, header, "client_max_window_bits answered but not offered");
                    clientBits = WindowBits(value, header, name);
                    Check(offer.ClientMaxWindowBits is not int offeredClient || clientBits <= offeredClient, header, $"client_max_window_bits above the offered {offer.ClientMaxWindowBits}");
                    break;
                default:
                    Check(false, header, $"unknown parameter '{name}'");
                    break;
            }
        }

        Check(!offer.ServerNoContextTakeover || serverNoContext, header, "server_no_context_takeover offered but not echoed");
        return new DeflateResponse(serverNoContext, clientNoContext, serverBits, clientBits);
    }

    private static int WindowBits(string? value, string header, string name)
    {
        Check(value is not null, header, $"{name} without a value");
        Check(value!.Length is 1 or 2 && value[0] != '0' && value.All(char.IsAsciiDigit), header, $"{name}={value} is not a plain decimal");
        int bits = int.Parse(value, CultureInfo.InvariantCulture);
        Check(bits is >= 8 and <= 15, header, $"{name}={bits} outside 8..15");
        return bits;
    }

    private static void Check(bool condition, string header, string problem)
    {
        if (!condition)
        {
            throw new InvalidOperationException($"Illegal permessage-deflate answer '{header}': {problem}.");
        }
    }
}
