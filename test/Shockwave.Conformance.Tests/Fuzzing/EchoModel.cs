using System.Buffers;
using System.Buffers.Binary;
using System.Text;

namespace Shockwave.Conformance.Tests.Fuzzing;

/// <summary>Where a client stream leaves the connection once the server has read all of it.</summary>
internal enum ModelEnd
{
    /// <summary>Every byte was a whole valid frame: the connection stays open (a fragmented message may be in progress).</summary>
    Open,

    /// <summary>The stream stops inside a frame (header or payload): the server waits for the rest.</summary>
    OpenMidFrame,

    /// <summary>The server must fail the connection with <see cref="EchoExpectation.Code"/>.</summary>
    Failed,

    /// <summary>The client sent a valid close: the server answers with the same code (none for an empty close).</summary>
    ClientClosed,
}

/// <summary>A data message the echo endpoint must send back.</summary>
internal sealed record ModelMessage(int Opcode, byte[] Payload)
{
    public override string ToString() => $"{(Opcode == 1 ? "text" : "binary")}[{Payload.Length}]";
}

/// <summary>What <c>/echo</c> must do with a client stream: echo these messages in order, answer these pings, end so.</summary>
internal sealed record EchoExpectation(List<ModelMessage> Messages, List<byte[]> Pings, ModelEnd End, ushort? Code, int FailedAt)
{
    public override string ToString() =>
        $"{End}{(Code is { } c ? $" {c}" : "")}{(End == ModelEnd.Failed ? $" at byte {FailedAt}" : "")}, {Messages.Count} messages [{string.Join(", ", Messages)}], {Pings.Count} pings";
}

/// <summary>
/// An independent model of RFC 6455 section 5 as a server applies it to what a client sends (not the library's reader):
/// samples/Echo's limits (64 MiB per frame and message, no extension on <c>/echo</c>), and the order in which a header's
/// faults are judged when one header has several (reserved bits, opcode, mask, length, control-frame rules, frame size,
/// fragmentation order, message size). UTF-8 is judged fail-fast (R6455-8.1): a text message fails at the first byte no
/// valid continuation can follow, even inside a frame whose payload has not all arrived.
/// </summary>
internal static class EchoModel
{
    public const long MaxFrame = 64L * 1024 * 1024;
    public const long MaxMessage = 64L * 1024 * 1024;

    public static EchoExpectation Run(ReadOnlySpan<byte> s)
    {
        var messages = new List<ModelMessage>();
        var pings = new List<byte[]>();
        bool inMessage = false;
        int messageOpcode = 0;
        var message = new List<byte>();
        var utf8Carry = new List<byte>();
        int pos = 0;

        EchoExpectation Fail(ushort code, int at) => new(messages, pings, ModelEnd.Failed, code, at);

        while (true)
        {
            if (pos == s.Length)
            {
                return new(messages, pings, ModelEnd.Open, null, -1);
            }

            int available = s.Length - pos;
            if (available < 2)
            {
                return new(messages, pings, ModelEnd.OpenMidFrame, null, -1);
            }

            byte b0 = s[pos];
            byte b1 = s[pos + 1];
            bool fin = (b0 & 0x80) != 0;
            int rsv = (b0 >> 4) & 7;
            int opcode = b0 & 0xF;
            bool masked = (b1 & 0x80) != 0;
            int length7 = b1 & 0x7F;
            int extended = length7 == 126 ? 2 : length7 == 127 ? 8 : 0;
            int headerLength = 2 + extended + (masked ? 4 : 0);
            if (available < headerLength)
            {
                return new(messages, pings, ModelEnd.OpenMidFrame, null, -1);
            }

            long length = extended switch
            {
                0 => length7,
                2 => BinaryPrimitives.ReadUInt16BigEndian(s[(pos + 2)..]),
                _ => (long)BinaryPrimitives.ReadUInt64BigEndian(s[(pos + 2)..]),
            };
            bool control = opcode >= 8;

            // R6455-5.2: reserved bits with no extension, reserved opcodes; R6455-5.1: client frames are masked;
            // the 64-bit length's top bit must be 0.
            if (rsv != 0 || opcode is not (0 or 1 or 2 or 8 or 9 or 10) || !masked || length < 0)
            {
                return Fail(1002, pos);
            }

            if (control && (length > 125 || !fin || (opcode == 8 && length == 1)))
            {
                // R6455-5.5, 5.5.1.
                return Fail(1002, pos);
            }

            if (!control && length > MaxFrame)
            {
                return Fail(1009, pos);
            }

            if (!control)
            {
                // R6455-5.4: a continuation continues something; a new message never starts inside another.
                if (opcode == 0 ? !inMessage : inMessage)
                {
                    return Fail(1002, pos);
                }

                if (opcode != 0)
                {
                    inMessage = true;
                    messageOpcode = opcode;
                    message.Clear();
                    utf8Carry.Clear();
                }

                if (length > MaxMessage - message.Count)
                {
                    return Fail(1009, pos);
                }
            }

            uint key = BinaryPrimitives.ReadUInt32LittleEndian(s[(pos + headerLength - 4)..]);
            int payloadStart = pos + headerLength;
            if (control)
            {
                if (available - headerLength < length)
                {
                    return new(messages, pings, ModelEnd.OpenMidFrame, null, -1);
                }

                byte[] payload = Unmask(s.Slice(payloadStart, (int)length), key);
                if (opcode == 8)
                {
                    if (payload.Length == 0)
                    {
                        return new(messages, pings, ModelEnd.ClientClosed, null, -1);
                    }

                    ushort code = BinaryPrimitives.ReadUInt16BigEndian(payload);
                    if (!IsValidCloseCode(code))
                    {
                        return Fail(1002, pos);
                    }

                    if (!Utf8IsValid(payload.AsSpan(2)))
                    {
                        return Fail(1007, pos);
                    }

                    return new(messages, pings, ModelEnd.ClientClosed, code, -1);
                }

                if (opcode == 9)
                {
                    pings.Add(payload);
                }

                pos = payloadStart + (int)length;
                continue;
            }

            int present = (int)Math.Min(length, available - headerLength);
            byte[] chunk = Unmask(s.Slice(payloadStart, present), key);
            if (messageOpcode == 1)
            {
                int bad = FirstInvalidUtf8(utf8Carry, chunk);
                if (bad >= 0)
                {
                    return Fail(1007, payloadStart + bad);
                }
            }

            message.AddRange(chunk);
            if (present < length)
            {
                return new(messages, pings, ModelEnd.OpenMidFrame, null, -1);
            }

            pos = payloadStart + present;
            if (fin)
            {
                if (messageOpcode == 1 && utf8Carry.Count > 0)
                {
                    // R6455-8.1: a message that ends inside a code point is not UTF-8.
                    return Fail(1007, pos - 1);
                }

                messages.Add(new ModelMessage(messageOpcode, [.. message]));
                inMessage = false;
            }
        }
    }

    /// <summary>R6455-7.4: the codes a close frame may carry.</summary>
    public static bool IsValidCloseCode(ushort code) => code is (>= 1000 and <= 1003) or (>= 1007 and <= 1014) or (>= 3000 and <= 4999);

    private static byte[] Unmask(ReadOnlySpan<byte> masked, uint key)
    {
        var bytes = masked.ToArray();
        Span<byte> k = stackalloc byte[4];
        BinaryPrimitives.WriteUInt32LittleEndian(k, key);
        for (int i = 0; i < bytes.Length; i++)
        {
            bytes[i] ^= k[i & 3];
        }

        return bytes;
    }

    private static bool Utf8IsValid(ReadOnlySpan<byte> bytes)
    {
        var carry = new List<byte>();
        return FirstInvalidUtf8(carry, bytes.ToArray()) < 0 && carry.Count == 0;
    }

    /// <summary>
    /// Decodes <paramref name="chunk"/> after the incomplete code point in <paramref name="carry"/>; returns the index in
    /// the chunk of the first byte that no valid UTF-8 can contain at that place, or -1, leaving in the carry an incomplete
    /// code point at the end (at most 3 bytes).
    /// </summary>
    private static int FirstInvalidUtf8(List<byte> carry, byte[] chunk)
    {
        int carried = carry.Count;
        byte[] bytes = [.. carry, .. chunk];
        carry.Clear();
        int offset = 0;
        while (offset < bytes.Length)
        {
            var status = Rune.DecodeFromUtf8(bytes.AsSpan(offset), out _, out int consumed);
            if (status == OperationStatus.Done)
            {
                offset += consumed;
                continue;
            }

            if (status == OperationStatus.NeedMoreData)
            {
                carry.AddRange(bytes.AsSpan(offset).ToArray());
                return -1;
            }

            // The invalid byte is the one after the valid prefix of the sequence.
            return Math.Max(0, offset + consumed - carried);
        }

        return -1;
    }
}
