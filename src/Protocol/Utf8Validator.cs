using System.Text.Unicode;

namespace Shockwave.Protocol;

/// <summary>
/// Streaming UTF-8 validation for text messages and close reasons (RFC 6455 sections 5.6 and 8.1), fed one
/// chunk at a time. A code point may be split across chunks and frames; the validator carries the partial
/// sequence over.
/// </summary>
/// <remarks>
/// <para>
/// It fails fast: <see cref="Append"/> returns <see langword="false"/> for the very chunk holding the first byte
/// that no valid UTF-8 could continue with (an overlong form, a surrogate, a code point above U+10FFFF, a stray
/// continuation byte, a missing one), so the connection can be failed with 1007 without waiting for the end of
/// the message. What it accepts is exactly what <see cref="Utf8.IsValid(ReadOnlySpan{byte})"/> accepts on the
/// concatenation of all chunks: well-formed UTF-8 per Unicode, noncharacters such as U+FFFF included.
/// </para>
/// <para>
/// It is a mutable struct so that a message reader can embed it without an allocation; keep it in a non-readonly
/// field or local and do not copy it while in use. <c>default</c> is a fresh validator.
/// </para>
/// </remarks>
public struct Utf8Validator
{
    // The partial sequence carried between chunks: how many continuation bytes are still owed, and the range the
    // next one must fall in. Only the first continuation byte has a range narrower than 80-BF (Unicode Table 3-7);
    // checking it as it arrives is what makes the overlong, surrogate and > U+10FFFF cases fail on that byte.
    private int _pending;
    private byte _nextMin;
    private byte _nextMax;
    private bool _invalid;

    /// <summary>
    /// True when the bytes so far are valid and end on a code point boundary, so no partial sequence is pending.
    /// False once the input is invalid.
    /// </summary>
    public readonly bool IsAtCharacterBoundary => !_invalid && _pending == 0;

    /// <summary>Validates <paramref name="data"/> as one complete UTF-8 text.</summary>
    /// <param name="data">The bytes of a whole text.</param>
    /// <returns>True if <paramref name="data"/> is well-formed UTF-8.</returns>
    public static bool IsValid(ReadOnlySpan<byte> data) => Utf8.IsValid(data);

    /// <summary>Validates the next chunk of the message.</summary>
    /// <param name="chunk">The next bytes of the text, in order; may split a code point anywhere.</param>
    /// <returns>
    /// False if the bytes so far cannot be the start of valid UTF-8. The result is sticky: once false, every
    /// later call returns false until <see cref="Reset"/>. True does not mean the text is complete; see <see cref="Complete"/>.
    /// </returns>
    public bool Append(ReadOnlySpan<byte> chunk)
    {
        if (_invalid)
        {
            return false;
        }

        // 1. Finish the sequence left open by the previous chunk.
        while (_pending != 0)
        {
            if (chunk.IsEmpty)
            {
                return true;
            }

            if (!TryContinue(chunk[0]))
            {
                return Fail();
            }

            chunk = chunk[1..];
        }

        // 2. The rest starts on a boundary. Hold back a trailing sequence that this chunk cut short, so that the
        //    bulk ends on a boundary too and can go to the vectorised validator in one piece.
        //    Utf8.IsValid skips ASCII with the widest vectors available; measured on 1 KiB and 64 KiB of ASCII, an
        //    Ascii.IsValid pass in front of it only added cost, and IndexOfAnyExceptInRange ran at a third its speed.
        var tailStart = IncompleteTailStart(chunk);
        if (!Utf8.IsValid(chunk[..tailStart]))
        {
            return Fail();
        }

        // 3. The held-back bytes are a lead and fewer continuation bytes than it needs. Run them through the state
        //    machine now rather than at the next chunk: "ED A0" is already a surrogate and must fail here.
        foreach (var b in chunk[tailStart..])
        {
            if (!(_pending == 0 ? TryStart(b) : TryContinue(b)))
            {
                return Fail();
            }
        }

        return true;
    }

    /// <summary>
    /// Ends the message: true only if every byte was valid and the text does not stop inside a code point
    /// (a truncated sequence at the final fragment is invalid, RFC 6455 section 8.1). A false result is sticky.
    /// </summary>
    /// <returns>True if the whole text is valid UTF-8.</returns>
    public bool Complete()
    {
        if (_pending != 0)
        {
            _invalid = true;
        }

        return !_invalid;
    }

    /// <summary>Forgets all state, ready for the next message.</summary>
    public void Reset() => this = default;

    /// <summary>
    /// The index where a trailing sequence starts that is a well-formed lead byte followed by fewer continuation
    /// bytes than it needs, or <c>data.Length</c> if the data does not end that way.
    /// </summary>
    private static int IncompleteTailStart(ReadOnlySpan<byte> data)
    {
        // A sequence is at most 4 bytes, so an open one starts within the last 3. Skip trailing continuation bytes
        // (10xxxxxx) to the byte that could lead them.
        var i = data.Length - 1;
        var limit = Math.Max(data.Length - 3, 0);
        while (i >= limit && (data[i] & 0xC0) == 0x80)
        {
            i--;
        }

        if (i < limit)
        {
            return data.Length;
        }

        // Bytes that can never lead (C0, C1, F5-FF) stay in the bulk, where the validator rejects them.
        var needed = data[i] switch
        {
            >= 0xC2 and <= 0xDF => 2,
            >= 0xE0 and <= 0xEF => 3,
            >= 0xF0 and <= 0xF4 => 4,
            _ => 0,
        };
        return data.Length - i < needed ? i : data.Length;
    }

    private bool TryStart(byte lead)
    {
        // Unicode Table 3-7 (well-formed UTF-8 byte sequences): the lead byte sets the length and the range of the
        // first continuation byte.
        (_pending, _nextMin, _nextMax) = lead switch
        {
            < 0x80 => (0, (byte)0, (byte)0),
            >= 0xC2 and <= 0xDF => (1, (byte)0x80, (byte)0xBF),
            0xE0 => (2, (byte)0xA0, (byte)0xBF), // E0 80-9F would be an overlong 3-byte form
            0xED => (2, (byte)0x80, (byte)0x9F), // ED A0-BF would encode a surrogate, D800-DFFF
            >= 0xE1 and <= 0xEF => (2, (byte)0x80, (byte)0xBF),
            0xF0 => (3, (byte)0x90, (byte)0xBF), // F0 80-8F would be an overlong 4-byte form
            0xF4 => (3, (byte)0x80, (byte)0x8F), // F4 90-BF would be above U+10FFFF
            >= 0xF1 and <= 0xF3 => (3, (byte)0x80, (byte)0xBF),
            _ => (-1, (byte)0, (byte)0), // a continuation byte with no lead, or C0, C1, F5-FF
        };
        return _pending >= 0;
    }

    private bool TryContinue(byte b)
    {
        if (b < _nextMin || b > _nextMax)
        {
            return false;
        }

        _pending--;
        _nextMin = 0x80;
        _nextMax = 0xBF;
        return true;
    }

    private bool Fail()
    {
        _invalid = true;
        _pending = 0;
        return false;
    }
}
