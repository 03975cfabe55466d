using System.Buffers;
using System.Buffers.Binary;
using System.IO.Pipelines;
using Shockwave.Protocol;

namespace Shockwave.Runtime.Tests.Support;

/// <summary>A frame as it crossed the wire: header bits, the mask key if any, and the unmasked payload.</summary>
internal sealed record WireFrame(WebSocketOpcode Opcode, bool Fin, bool Rsv1, uint? MaskKey, byte[] Payload)
{
    public (WebSocketCloseStatus? Status, string? Reason) Close => ClosePayload.Parse(new ReadOnlySequence<byte>(Payload));
}

/// <summary>
/// The other end of a runtime under test, speaking raw frames: it writes exactly the frames a test asks for (masked
/// as its role requires unless told otherwise) and reads every frame the runtime writes, with no protocol rule applied.
/// </summary>
internal sealed class RawPeer(PipeReader input, PipeWriter output, WebSocketRole role)
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(10);

    public WebSocketRole Role => role;

    public async Task SendFrameAsync(WebSocketOpcode opcode, bool fin, ReadOnlyMemory<byte> payload, bool rsv1 = false, bool? masked = null)
    {
        uint? mask = (masked ?? role == WebSocketRole.Client) ? WebSocketFrameWriter.NewMaskKey() : null;
        WebSocketFrameWriter.WriteFrame(output, opcode, fin, rsv1, payload.Span, mask);
        await output.FlushAsync();
    }

    public Task SendTextAsync(string text) => SendFrameAsync(WebSocketOpcode.Text, fin: true, System.Text.Encoding.UTF8.GetBytes(text));

    public async Task SendCloseAsync(WebSocketCloseStatus? status, string? reason = null)
    {
        var payload = new byte[125];
        int length = ClosePayload.Write(payload, status, reason);
        await SendFrameAsync(WebSocketOpcode.Close, fin: true, payload.AsMemory(0, length));
    }

    /// <summary>Reads the next frame; null when the runtime ended its output first.</summary>
    public async Task<WireFrame?> ReadFrameAsync()
    {
        using var timeout = new CancellationTokenSource(Timeout);
        while (true)
        {
            var result = await input.ReadAsync(timeout.Token);
            var buffer = result.Buffer;
            if (TryParse(ref buffer, out var frame))
            {
                input.AdvanceTo(buffer.Start);
                return frame;
            }

            input.AdvanceTo(buffer.Start, buffer.End);
            if (result.IsCompleted)
            {
                return null;
            }
        }
    }

    /// <summary>Reads frames until one with <paramref name="opcode"/> arrives, skipping the others.</summary>
    public async Task<WireFrame> ReadFrameAsync(WebSocketOpcode opcode)
    {
        while (true)
        {
            var frame = await ReadFrameAsync() ?? throw new EndOfStreamException($"The runtime ended its output before a {opcode} frame.");
            if (frame.Opcode == opcode)
            {
                return frame;
            }
        }
    }

    private static bool TryParse(ref ReadOnlySequence<byte> buffer, out WireFrame? frame)
    {
        frame = null;
        var reader = new SequenceReader<byte>(buffer);
        if (!reader.TryRead(out byte b0) || !reader.TryRead(out byte b1))
        {
            return false;
        }

        long length = b1 & 0x7F;
        if (length == 126)
        {
            if (!reader.TryReadBigEndian(out short l16))
            {
                return false;
            }

            length = (ushort)l16;
        }
        else if (length == 127 && !reader.TryReadBigEndian(out length))
        {
            return false;
        }

        uint? mask = null;
        if ((b1 & 0x80) != 0)
        {
            Span<byte> key = stackalloc byte[4];
            if (!reader.TryCopyTo(key))
            {
                return false;
            }

            reader.Advance(4);
            mask = BinaryPrimitives.ReadUInt32LittleEndian(key);
        }

        if (reader.Remaining < length)
        {
            return false;
        }

        byte[] payload = reader.UnreadSequence.Slice(0, length).ToArray();
        if (mask is { } m)
        {
            WebSocketMask.Apply(payload, m, 0);
        }

        reader.Advance(length);
        buffer = buffer.Slice(reader.Position);
        frame = new WireFrame((WebSocketOpcode)(b0 & 0x0F), (b0 & 0x80) != 0, (b0 & 0x40) != 0, mask, payload);
        return true;
    }
}
