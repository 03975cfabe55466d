using System.Buffers;
using System.Buffers.Binary;
using System.Text;

namespace Shockwave.Backplane;

/// <summary>What a backplane message asks the receiving node to do.</summary>
internal enum EnvelopeKind : byte
{
    All = 1,
    AllExcept = 2,
    Connection = 3,
    User = 4,
    Group = 5,
    GroupExcept = 6,
    AddToGroup = 7,
    RemoveFromGroup = 8,
}

/// <summary>
/// One backplane message on the wire: a fixed head (version, kind, message type, the sender's sequence number on the
/// channel), four short length-prefixed UTF-8 strings (sender node, endpoint, target, excluded ids) and the payload as
/// it will be framed. Binary and versioned, so a node can refuse what a newer one sends instead of misreading it.
/// </summary>
internal readonly ref struct BackplaneEnvelope
{
    public const byte Version = 1;
    private const int HeadLength = 1 + 1 + 1 + 8;

    public EnvelopeKind Kind { get; init; }

    public WibeSocketMessageType MessageType { get; init; }

    public long Sequence { get; init; }

    public string SenderNodeId { get; init; }

    public string Endpoint { get; init; }

    /// <summary>The connection id, user or group; empty for the whole endpoint.</summary>
    public string Target { get; init; }

    /// <summary>The excluded connection ids of an "except" send, or the connection of a group change.</summary>
    public IReadOnlyCollection<string>? ConnectionIds { get; init; }

    public ReadOnlySpan<byte> Payload { get; init; }

    public int GetLength()
    {
        int length = HeadLength + StringLength(SenderNodeId) + StringLength(Endpoint) + StringLength(Target) + 2 + Payload.Length;
        foreach (string id in ConnectionIds ?? [])
        {
            length += StringLength(id);
        }

        return length;
    }

    /// <summary>Writes the envelope into <paramref name="destination"/>, which holds at least <see cref="GetLength"/> bytes.</summary>
    public int Write(Span<byte> destination)
    {
        destination[0] = Version;
        destination[1] = (byte)Kind;
        destination[2] = (byte)MessageType;
        BinaryPrimitives.WriteInt64LittleEndian(destination[3..], Sequence);
        int offset = HeadLength;
        offset += WriteString(destination[offset..], SenderNodeId);
        offset += WriteString(destination[offset..], Endpoint);
        offset += WriteString(destination[offset..], Target);
        int count = ConnectionIds?.Count ?? 0;
        BinaryPrimitives.WriteUInt16LittleEndian(destination[offset..], checked((ushort)count));
        offset += 2;
        foreach (string id in ConnectionIds ?? [])
        {
            offset += WriteString(destination[offset..], id);
        }

        Payload.CopyTo(destination[offset..]);
        return offset + Payload.Length;
    }

    /// <summary>Reads an envelope; false for anything malformed or of another version (a broker is shared input too).</summary>
    public static bool TryRead(ReadOnlySpan<byte> source, out BackplaneEnvelope envelope)
    {
        envelope = default;
        if (source.Length < HeadLength || source[0] != Version || source[1] is < (byte)EnvelopeKind.All or > (byte)EnvelopeKind.RemoveFromGroup)
        {
            return false;
        }

        int offset = HeadLength;
        if (!TryReadString(source, ref offset, out string? sender)
            || !TryReadString(source, ref offset, out string? endpoint)
            || !TryReadString(source, ref offset, out string? target)
            || offset + 2 > source.Length)
        {
            return false;
        }

        int count = BinaryPrimitives.ReadUInt16LittleEndian(source[offset..]);
        offset += 2;
        string[]? excluded = count == 0 ? null : new string[count];
        for (int i = 0; i < count; i++)
        {
            if (!TryReadString(source, ref offset, out string? id))
            {
                return false;
            }

            excluded![i] = id;
        }

        envelope = new BackplaneEnvelope
        {
            Kind = (EnvelopeKind)source[1],
            MessageType = (WibeSocketMessageType)source[2],
            Sequence = BinaryPrimitives.ReadInt64LittleEndian(source[3..]),
            SenderNodeId = sender,
            Endpoint = endpoint,
            Target = target,
            ConnectionIds = excluded,
            Payload = source[offset..],
        };
        return true;
    }

    /// <summary>Rents a buffer and writes the envelope into it; the caller returns the buffer to the shared pool.</summary>
    public byte[] Rent(out int length)
    {
        var buffer = ArrayPool<byte>.Shared.Rent(GetLength());
        length = Write(buffer);
        return buffer;
    }

    private static int StringLength(string value) => 2 + Encoding.UTF8.GetByteCount(value);

    private static int WriteString(Span<byte> destination, string value)
    {
        int written = Encoding.UTF8.GetBytes(value, destination[2..]);
        BinaryPrimitives.WriteUInt16LittleEndian(destination, checked((ushort)written));
        return 2 + written;
    }

    private static bool TryReadString(ReadOnlySpan<byte> source, ref int offset, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out string? value)
    {
        value = null;
        if (offset + 2 > source.Length)
        {
            return false;
        }

        int length = BinaryPrimitives.ReadUInt16LittleEndian(source[offset..]);
        if (offset + 2 + length > source.Length)
        {
            return false;
        }

        value = Encoding.UTF8.GetString(source.Slice(offset + 2, length));
        offset += 2 + length;
        return true;
    }
}
