namespace Shockwave.Protocol.Tests.Compression;

/// <summary>
/// A small, slow, independent RFC 1951 decoder written for the tests, so the codec is not only checked against zlib.
/// It keeps the whole history across messages (context takeover) and records the longest back-reference distance it
/// met, which is how the tests prove a compressor honoured <c>server_max_window_bits</c>.
/// </summary>
internal sealed class ReferenceInflater
{
    private static readonly int[] LengthBase = [3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31, 35, 43, 51, 59, 67, 83, 99, 115, 131, 163, 195, 227, 258];
    private static readonly int[] LengthExtra = [0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0];
    private static readonly int[] DistanceBase = [1, 2, 3, 4, 5, 7, 9, 13, 17, 25, 33, 49, 65, 97, 129, 193, 257, 385, 513, 769, 1025, 1537, 2049, 3073, 4097, 6145, 8193, 12289, 16385, 24577];
    private static readonly int[] DistanceExtra = [0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13];
    private static readonly int[] CodeLengthOrder = [16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15];

    private readonly List<byte> _history = [];
    private byte[] _input = [];
    private int _bitPosition;

    /// <summary>The longest distance any match has used so far, across all messages.</summary>
    public int MaxDistance { get; private set; }

    /// <summary>The longest distance a match used that reached back before the start of its own message.</summary>
    public int MaxDistanceIntoEarlierMessages { get; private set; }

    /// <summary>Whether a block with BFINAL set was decoded.</summary>
    public bool SawFinalBlock { get; private set; }

    /// <summary>
    /// Decodes one permessage-deflate payload: appends <c>00 00 FF FF</c> and decodes blocks until the input ends on a
    /// block boundary, or up to a final block. Throws <see cref="InvalidDataException"/> for anything else.
    /// </summary>
    public byte[] DecodeMessage(ReadOnlySpan<byte> payload)
    {
        _input = [.. payload, 0x00, 0x00, 0xFF, 0xFF];
        _bitPosition = 0;
        int start = _history.Count;
        while (true)
        {
            bool final = Bits(1) == 1;
            switch (Bits(2))
            {
                case 0: Stored(); break;
                case 1: Codes(start, FixedLiterals, FixedDistances); break;
                case 2: Dynamic(start); break;
                default: throw new InvalidDataException("reserved block type");
            }

            if (final)
            {
                SawFinalBlock = true;
                break;
            }

            if (_bitPosition == _input.Length * 8)
            {
                break;
            }
        }

        return _history.GetRange(start, _history.Count - start).ToArray();
    }

    private int Bits(int count)
    {
        int value = 0;
        for (int i = 0; i < count; i++)
        {
            if (_bitPosition >= _input.Length * 8)
            {
                throw new InvalidDataException("truncated");
            }

            int bit = (_input[_bitPosition >> 3] >> (_bitPosition & 7)) & 1;
            value |= bit << i;
            _bitPosition++;
        }

        return value;
    }

    private void Stored()
    {
        _bitPosition = (_bitPosition + 7) & ~7;
        int length = Bits(16);
        int complement = Bits(16);
        if ((length ^ 0xFFFF) != complement)
        {
            throw new InvalidDataException("stored length mismatch");
        }

        for (int i = 0; i < length; i++)
        {
            _history.Add((byte)Bits(8));
        }
    }

    private void Codes(int messageStart, Huffman literals, Huffman distances)
    {
        while (true)
        {
            int symbol = literals.Decode(this);
            if (symbol < 256)
            {
                _history.Add((byte)symbol);
                continue;
            }

            if (symbol == 256)
            {
                return;
            }

            symbol -= 257;
            if (symbol >= 29)
            {
                throw new InvalidDataException("bad length symbol");
            }

            int length = LengthBase[symbol] + Bits(LengthExtra[symbol]);
            int distanceSymbol = distances.Decode(this);
            if (distanceSymbol >= 30)
            {
                throw new InvalidDataException("bad distance symbol");
            }

            int distance = DistanceBase[distanceSymbol] + Bits(DistanceExtra[distanceSymbol]);
            if (distance > _history.Count)
            {
                throw new InvalidDataException("distance too far back");
            }

            MaxDistance = Math.Max(MaxDistance, distance);
            int beforeMessage = distance - (_history.Count - messageStart);
            if (beforeMessage > 0)
            {
                MaxDistanceIntoEarlierMessages = Math.Max(MaxDistanceIntoEarlierMessages, distance);
            }

            for (int i = 0; i < length; i++)
            {
                _history.Add(_history[^distance]);
            }
        }
    }

    private void Dynamic(int messageStart)
    {
        int literalCount = Bits(5) + 257;
        int distanceCount = Bits(5) + 1;
        int codeLengthCount = Bits(4) + 4;
        var codeLengthLengths = new int[19];
        for (int i = 0; i < codeLengthCount; i++)
        {
            codeLengthLengths[CodeLengthOrder[i]] = Bits(3);
        }

        var codeLengths = new Huffman(codeLengthLengths);
        var lengths = new int[literalCount + distanceCount];
        int index = 0;
        while (index < lengths.Length)
        {
            int symbol = codeLengths.Decode(this);
            if (symbol < 16)
            {
                lengths[index++] = symbol;
                continue;
            }

            int repeat, value = 0;
            switch (symbol)
            {
                case 16:
                    if (index == 0)
                    {
                        throw new InvalidDataException("repeat with no previous length");
                    }

                    value = lengths[index - 1];
                    repeat = 3 + Bits(2);
                    break;
                case 17: repeat = 3 + Bits(3); break;
                default: repeat = 11 + Bits(7); break;
            }

            if (index + repeat > lengths.Length)
            {
                throw new InvalidDataException("too many lengths");
            }

            while (repeat-- > 0)
            {
                lengths[index++] = value;
            }
        }

        Codes(messageStart, new Huffman(lengths[..literalCount]), new Huffman(lengths[literalCount..]));
    }

    private static readonly Huffman FixedLiterals = new([.. Enumerable.Repeat(8, 144), .. Enumerable.Repeat(9, 112), .. Enumerable.Repeat(7, 24), .. Enumerable.Repeat(8, 8)]);
    private static readonly Huffman FixedDistances = new([.. Enumerable.Repeat(5, 30)]);

    /// <summary>A canonical Huffman code (RFC 1951 section 3.2.2), decoded one bit at a time.</summary>
    private sealed class Huffman
    {
        private readonly int[] _countPerLength = new int[16];
        private readonly int[] _symbols;

        public Huffman(int[] lengths)
        {
            foreach (int length in lengths)
            {
                _countPerLength[length]++;
            }

            _countPerLength[0] = 0;
            var offsets = new int[16];
            for (int length = 1; length < 16; length++)
            {
                offsets[length] = offsets[length - 1] + _countPerLength[length - 1];
            }

            _symbols = new int[lengths.Length];
            for (int symbol = 0; symbol < lengths.Length; symbol++)
            {
                if (lengths[symbol] != 0)
                {
                    _symbols[offsets[lengths[symbol]]++] = symbol;
                }
            }
        }

        public int Decode(ReferenceInflater reader)
        {
            // Codes of one length are consecutive integers, and the first code of each length follows from the counts
            // of the shorter ones; Huffman codes are packed starting with their most significant bit.
            int code = 0, first = 0, index = 0;
            for (int length = 1; length < 16; length++)
            {
                code |= reader.Bits(1);
                int count = _countPerLength[length];
                if (code - first < count)
                {
                    return _symbols[index + code - first];
                }

                index += count;
                first = (first + count) << 1;
                code <<= 1;
            }

            throw new InvalidDataException("invalid Huffman code");
        }
    }
}
