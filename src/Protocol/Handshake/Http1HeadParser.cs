using System.Buffers;

namespace Shockwave.Protocol.Handshake;

/// <summary>
/// What the HTTP/1.1 request and response head parsers share: a size limit, a scanner that remembers how far it got
/// between calls (so every byte is examined once however the data is split), and the flow from a complete head to a
/// parsed one. A subclass only parses its start line.
/// </summary>
/// <typeparam name="THead">The parsed head: <see cref="Http1RequestHead"/> or <see cref="Http1ResponseHead"/>.</typeparam>
public abstract class Http1HeadParser<THead>
    where THead : class
{
    private Http1HeadScanner _scanner;

    /// <summary>Creates a parser.</summary>
    /// <param name="maxHeadSize">
    /// The largest head accepted, in bytes, from the first byte to the empty line inclusive (the limit is inclusive).
    /// </param>
    private protected Http1HeadParser(int maxHeadSize)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(maxHeadSize);
        MaxHeadSize = maxHeadSize;
    }

    /// <summary>The largest head accepted, in bytes.</summary>
    public int MaxHeadSize { get; }

    /// <summary>Forgets a partially scanned head, to parse a new one from the start of a buffer.</summary>
    public void Reset() => _scanner.Reset();

    /// <summary>Tries to parse a head from the start of <paramref name="buffer"/>.</summary>
    /// <param name="buffer">
    /// The received bytes, from the start of the head. On <see cref="Http1ParseStatus.Done"/> it is advanced past the head,
    /// so it holds whatever the peer sent after it (frames pipelined behind a handshake); otherwise it is left unchanged.
    /// </param>
    /// <param name="head">The parsed head when the result is <see cref="Http1ParseStatus.Done"/>, else null.</param>
    /// <param name="error">The broken rule for <see cref="Http1ParseStatus.InvalidData"/> and <see cref="Http1ParseStatus.HeadTooLarge"/>.</param>
    /// <returns>The parse status.</returns>
    public Http1ParseStatus TryParse(ref ReadOnlySequence<byte> buffer, out THead? head, out Http1HeadError error)
    {
        head = null;
        var status = _scanner.Scan(buffer, MaxHeadSize, out long start, out long end, out error);
        if (status == Http1ParseStatus.NeedMoreData)
        {
            return status;
        }

        _scanner.Reset();
        if (status != Http1ParseStatus.Done)
        {
            return status;
        }

        var bytes = Http1HeadSyntax.GetContiguous(buffer.Slice(start, end - start), out byte[]? rented);
        try
        {
            error = Parse(bytes, out head);
        }
        finally
        {
            if (rented is not null)
            {
                ArrayPool<byte>.Shared.Return(rented);
            }
        }

        if (error != Http1HeadError.None)
        {
            head = null;
            return Http1ParseStatus.InvalidData;
        }

        buffer = buffer.Slice(end);
        return Http1ParseStatus.Done;
    }

    /// <summary>Parses the start line (request line or status line) of a complete, contiguous head.</summary>
    private protected abstract Http1HeadError ParseStartLine(ReadOnlySpan<byte> line, Http1HeadFieldsParser fields, out THead? head);

    // The start line is checked before the field lines, so its error wins when both are broken.
    private Http1HeadError Parse(ReadOnlySpan<byte> bytes, out THead? head)
    {
        int lf = bytes.IndexOf((byte)'\n');
        return ParseStartLine(bytes[..(lf - 1)], new Http1HeadFieldsParser(bytes[(lf + 1)..]), out head);
    }
}

/// <summary>The field lines of a head, parsed on demand once its start line is valid.</summary>
internal readonly ref struct Http1HeadFieldsParser(ReadOnlySpan<byte> fieldLines)
{
    private readonly ReadOnlySpan<byte> _fieldLines = fieldLines;

    public Http1HeadError Parse(out Http1HeaderCollection headers)
    {
        var fields = new List<KeyValuePair<string, string>>();
        var error = Http1HeadSyntax.ParseFields(_fieldLines, fields);
        headers = new Http1HeaderCollection(fields);
        return error;
    }
}
