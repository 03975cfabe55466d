using System.Buffers;
using System.Buffers.Text;
using System.Security.Cryptography;
using System.Text;

namespace Shockwave.Protocol.Handshake;

/// <summary>
/// The <c>Sec-WebSocket-Key</c> / <c>Sec-WebSocket-Accept</c> pair of the opening handshake (RFC 6455 sections 4.1 and 4.2.2),
/// computed without allocating.
/// </summary>
public static class WebSocketAccept
{
    /// <summary>Length of a <c>Sec-WebSocket-Accept</c> value: base64 of a 20-byte SHA-1 hash.</summary>
    public const int AcceptLength = 28;

    /// <summary>Length of a valid <c>Sec-WebSocket-Key</c> value: base64 of a 16-byte nonce, <c>==</c> padding included.</summary>
    public const int KeyLength = 24;

    private const string Base64Alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

    // Characters before the "==" padding: 22 base64 digits carry 132 bits, the nonce's 128 and 4 padding bits.
    private const int KeyDigits = KeyLength - 2;

    private static readonly SearchValues<char> Base64Chars = SearchValues.Create(Base64Alphabet);
    private static readonly SearchValues<byte> Base64Bytes = SearchValues.Create(Encoding.ASCII.GetBytes(Base64Alphabet));

    // RFC 6455 section 1.3: the GUID appended to the key before hashing.
    private static ReadOnlySpan<byte> KeyGuid => "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"u8;

    /// <summary>
    /// True if <paramref name="key"/> is base64 that decodes to exactly 16 bytes (R6455-4.2.1-a5), once surrounding
    /// optional whitespace is removed.
    /// </summary>
    /// <remarks>
    /// The check is on the text: 22 base64 digits followed by <c>==</c>, which is the only spelling of 16 bytes in padded
    /// base64 (RFC 4648 section 4). The 4 unused bits of the last digit are not required to be zero: RFC 4648 section 3.5
    /// lets decoders accept such encodings, and the common decoders (.NET's <see cref="Convert"/>, Node's ws, Python's
    /// websockets) do, so a client with a sloppy key generator still connects. Base64url and inner whitespace are refused.
    /// </remarks>
    public static bool IsValidKey(ReadOnlySpan<char> key)
    {
        key = HeaderTokens.TrimOws(key);
        return key.Length == KeyLength
            && key[KeyDigits] == '='
            && key[KeyDigits + 1] == '='
            && !key[..KeyDigits].ContainsAnyExcept(Base64Chars);
    }

    /// <inheritdoc cref="IsValidKey(ReadOnlySpan{char})"/>
    public static bool IsValidKey(ReadOnlySpan<byte> key)
    {
        key = HeaderTokens.TrimOws(key);
        return key.Length == KeyLength
            && key[KeyDigits] == '='
            && key[KeyDigits + 1] == '='
            && !key[..KeyDigits].ContainsAnyExcept(Base64Bytes);
    }

    /// <summary>
    /// Writes base64(SHA-1(key + GUID)) into <paramref name="destination"/> (R6455-4.2.2-j4). The key is hashed as sent,
    /// not base64-decoded first; surrounding optional whitespace is not part of it.
    /// </summary>
    /// <param name="key">The <c>Sec-WebSocket-Key</c> value.</param>
    /// <param name="destination">Receives the <see cref="AcceptLength"/> characters of the accept value.</param>
    /// <param name="written">The number of characters written: <see cref="AcceptLength"/>, or 0 on failure.</param>
    /// <returns>
    /// False, writing nothing, when the key fails <see cref="IsValidKey(ReadOnlySpan{char})"/> (a key the server must refuse
    /// anyway) or <paramref name="destination"/> is shorter than <see cref="AcceptLength"/>.
    /// </returns>
    public static bool TryComputeAccept(ReadOnlySpan<char> key, Span<char> destination, out int written)
    {
        written = 0;
        key = HeaderTokens.TrimOws(key);
        if (destination.Length < AcceptLength || !IsValidKey(key))
        {
            return false;
        }

        Span<byte> input = stackalloc byte[KeyLength + KeyGuid.Length];

        // A valid key is 24 ASCII characters, so narrowing them cannot fail.
        Ascii.FromUtf16(key, input, out _);
        Span<byte> hash = stackalloc byte[SHA1.HashSizeInBytes];
        HashKey(input, hash);
        return Convert.TryToBase64Chars(hash, destination, out written);
    }

    /// <summary>The UTF-8 form of <see cref="TryComputeAccept(ReadOnlySpan{char}, Span{char}, out int)"/>, for writing straight into a response buffer.</summary>
    /// <param name="key">The <c>Sec-WebSocket-Key</c> value as ASCII bytes.</param>
    /// <param name="destination">Receives the <see cref="AcceptLength"/> bytes of the accept value.</param>
    /// <param name="written">The number of bytes written: <see cref="AcceptLength"/>, or 0 on failure.</param>
    /// <returns>False, writing nothing, for an invalid key or a destination shorter than <see cref="AcceptLength"/>.</returns>
    public static bool TryComputeAccept(ReadOnlySpan<byte> key, Span<byte> destination, out int written)
    {
        written = 0;
        key = HeaderTokens.TrimOws(key);
        if (destination.Length < AcceptLength || !IsValidKey(key))
        {
            return false;
        }

        Span<byte> input = stackalloc byte[KeyLength + KeyGuid.Length];
        key.CopyTo(input);
        Span<byte> hash = stackalloc byte[SHA1.HashSizeInBytes];
        HashKey(input, hash);
        return Base64.EncodeToUtf8(hash, destination, out _, out written) == OperationStatus.Done;
    }

    /// <summary>Returns the <c>Sec-WebSocket-Accept</c> value for <paramref name="key"/> (R6455-4.2.2-j4).</summary>
    /// <exception cref="ArgumentException"><paramref name="key"/> is not a valid key.</exception>
    public static string ComputeAccept(string key)
    {
        ArgumentNullException.ThrowIfNull(key);
        Span<char> accept = stackalloc char[AcceptLength];
        if (!TryComputeAccept(key, accept, out _))
        {
            throw new ArgumentException("Sec-WebSocket-Key must be base64 of 16 bytes.", nameof(key));
        }

        return new string(accept);
    }

    /// <summary>
    /// True if <paramref name="accept"/>, with surrounding whitespace ignored, is the value the server owes for
    /// <paramref name="key"/>: the client's check of the server's response (R6455-4.1-af). Base64 is case-sensitive, so is the comparison.
    /// </summary>
    public static bool IsExpectedAccept(ReadOnlySpan<char> key, ReadOnlySpan<char> accept)
    {
        Span<char> expected = stackalloc char[AcceptLength];
        return TryComputeAccept(key, expected, out _) && HeaderTokens.TrimOws(accept).SequenceEqual(expected);
    }

    /// <summary>A fresh <c>Sec-WebSocket-Key</c>: base64 of 16 bytes from a cryptographic random source (R6455-4.1-v, R6455-4.1-w).</summary>
    public static string CreateClientKey()
    {
        Span<byte> nonce = stackalloc byte[16];
        RandomNumberGenerator.Fill(nonce);
        return Convert.ToBase64String(nonce);
    }

    // input holds the 24 key bytes followed by room for the GUID.
    private static void HashKey(Span<byte> input, Span<byte> hash)
    {
        KeyGuid.CopyTo(input[KeyLength..]);
#pragma warning disable CA5350 // RFC 6455 section 4.2.2 prescribes SHA-1; it proves the server read the handshake, it protects nothing.
        SHA1.HashData(input, hash);
#pragma warning restore CA5350
    }
}
