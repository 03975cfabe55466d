using System.Text;

using static Shockwave.Tests.Shared.RandomPayloads;

namespace Shockwave.Protocol.Tests.Support;

/// <summary>A generated frame stream and what a reader must make of it.</summary>
/// <param name="Bytes">The wire bytes, masked as the peer of the reader's role sends them.</param>
/// <param name="Expected">The messages, control frames and final error, in order.</param>
/// <param name="FrameOffsets">Where each frame starts, so a fuzzer can aim at headers.</param>
/// <param name="Options">The limits the stream was generated against.</param>
internal sealed record GeneratedStream(byte[] Bytes, IReadOnlyList<ReaderEvent> Expected, IReadOnlyList<int> FrameOffsets, FrameReaderOptions Options);

/// <summary>
/// Seeded random frame streams: text and binary messages (whole, or fragmented at random byte positions, code
/// points included, with empty fragments and control frames between fragments), pings, pongs and closes with
/// random valid payloads, at the three length encodings; optionally ending in one invalid frame (and some trailing
/// garbage the reader must not look at) whose error is known.
/// </summary>
internal static class FrameStreamGenerator
{
    /// <summary>The limits generated streams respect; the fragment limit is reached exactly now and then.</summary>
    public static FrameReaderOptions Options(bool compression) => new()
    {
        MaxFramePayloadLength = 70_000,
        MaxMessageSize = 140_000,
        MaxFragmentsPerMessage = 8,
        AllowCompressedMessages = compression,
    };

    public static GeneratedStream Generate(Random random, WebSocketRole readerRole, bool compression, int maxUnits = 8, bool allowLarge = false, bool allowInvalidTail = true)
    {
        var builder = FrameBuilder.For(readerRole, random);
        var expected = new List<ReaderEvent>();
        var units = random.Next(1, maxUnits + 1);
        for (var unit = 0; unit < units; unit++)
        {
            if (random.Next(4) == 0)
            {
                AddControl(builder, random, expected);
            }
            else
            {
                AddMessage(builder, random, expected, compression, allowLarge);
            }
        }

        if (allowInvalidTail && random.Next(3) == 0)
        {
            expected.Add(ReaderEvent.Failure(AddInvalidTail(builder, random, readerRole, compression, expected)));

            // RFC 6455 section 7.1.7: whatever follows the violation is never processed.
            var garbage = new byte[random.Next(0, 24)];
            random.NextBytes(garbage);
            builder.Raw(garbage);
        }

        return new GeneratedStream(builder.ToArray(), expected, [.. builder.FrameOffsets], Options(compression));
    }

    private static void AddControl(FrameBuilder builder, Random random, List<ReaderEvent> expected)
    {
        switch (random.Next(3))
        {
            case 0:
            case 1:
                var opcode = random.Next(2) == 0 ? WebSocketOpcode.Ping : WebSocketOpcode.Pong;
                var payload = RandomBytes(random, random.Next(4) == 0 ? 125 : random.Next(0, 20));
                builder.Frame(opcode, payload);
                expected.Add(ReaderEvent.Control(opcode, payload));
                break;
            default:
                byte[] close = random.Next(5) == 0
                    ? []
                    : FrameBuilder.ClosePayloadBytes(ValidCloseCode(random), RandomUtf8(random, random.Next(0, 5) == 0 ? 123 : random.Next(0, 30), exact: true));
                builder.Frame(WebSocketOpcode.Close, close);
                expected.Add(ReaderEvent.Control(WebSocketOpcode.Close, close));
                break;
        }
    }

    private static void AddMessage(FrameBuilder builder, Random random, List<ReaderEvent> expected, bool compression, bool allowLarge)
    {
        var opcode = random.Next(2) == 0 ? WebSocketOpcode.Text : WebSocketOpcode.Binary;
        var compressed = compression && random.Next(3) == 0;
        var length = random.Next(10) switch
        {
            0 => 0,
            < 6 => random.Next(1, 40),
            < 9 => random.Next(100, 300),
            _ => allowLarge && random.Next(3) == 0 ? random.Next(65_530, 66_000) : random.Next(300, 1_000),
        };

        // Compressed payload is deflate data the reader passes through unvalidated; random bytes stand in for it.
        var payload = opcode == WebSocketOpcode.Text && !compressed ? RandomUtf8(random, length, exact: false) : RandomBytes(random, length);
        var fragments = random.Next(3) == 0 ? random.Next(2, 9) : 1;
        var cuts = Enumerable.Range(0, fragments - 1).Select(_ => random.Next(payload.Length + 1)).Order().ToArray();
        var start = 0;
        for (var i = 0; i < fragments; i++)
        {
            var end = i < fragments - 1 ? cuts[i] : payload.Length;
            var last = i == fragments - 1;
            builder.Frame(i == 0 ? opcode : WebSocketOpcode.Continuation, payload.AsSpan(start..end), fin: last, rsv1: compressed && i == 0);
            start = end;

            // R6455-5.4-d: control frames may arrive between the fragments of a message.
            if (!last && random.Next(3) == 0)
            {
                AddControl(builder, random, expected);
            }
        }

        expected.Add(ReaderEvent.Message(opcode, payload, compressed, fragments));
    }

    private static ProtocolError AddInvalidTail(FrameBuilder builder, Random random, WebSocketRole role, bool compression, List<ReaderEvent> expected)
    {
        var small = RandomBytes(random, random.Next(0, 10));
        switch (random.Next(17))
        {
            case 0:
                int[] reserved = [3, 4, 5, 6, 7, 0xB, 0xC, 0xD, 0xE, 0xF];
                builder.Frame((WebSocketOpcode)reserved[random.Next(reserved.Length)], small);
                return Errors.ReservedOpcode;
            case 1:
                builder.Frame(RandomOpcode(random), small, rsv2: random.Next(2) == 0, rsv3: true);
                return Errors.ReservedBits;
            case 2:
                builder.Frame(RandomOpcode(random), small, rsv2: true);
                return Errors.ReservedBits;
            case 3:
                // RSV1 means nothing without permessage-deflate, and nothing on a control frame with it.
                builder.Frame(compression ? WebSocketOpcode.Ping : RandomOpcode(random), small, rsv1: true);
                return Errors.ReservedBits;
            case 4:
                builder.Frame(RandomOpcode(random), small, masked: !builder.Masked);
                return role == WebSocketRole.Server ? Errors.UnmaskedClientFrame : Errors.MaskedServerFrame;
            case 5:
                builder.Frame(random.Next(2) == 0 ? WebSocketOpcode.Ping : WebSocketOpcode.Pong, small, fin: false);
                return Errors.FragmentedControlFrame;
            case 6:
                builder.Frame((WebSocketOpcode)(8 + random.Next(3)), RandomBytes(random, random.Next(126, 300)));
                return Errors.ControlFrameTooLong;
            case 7:
                builder.Frame(WebSocketOpcode.Close, [(byte)random.Next(256)]);
                return Errors.CloseFrameLengthOne;
            case 8:
                ushort[] invalid = [0, 999, 1004, 1005, 1006, 1015, 1016, 2999, 5000, 65535];
                builder.Frame(WebSocketOpcode.Close, FrameBuilder.ClosePayloadBytes(invalid[random.Next(invalid.Length)], small));
                return Errors.InvalidCloseCode;
            case 9:
                builder.Frame(WebSocketOpcode.Close, FrameBuilder.ClosePayloadBytes(ValidCloseCode(random), [.. RandomUtf8(random, 5, false), .. InvalidUtf8(random)]));
                return Errors.InvalidCloseReason;
            case 10:
                builder.Continuation(small, fin: random.Next(2) == 0);
                return Errors.ContinuationWithoutStart;
            case 11:
                builder.Frame(RandomDataOpcode(random), RandomUtf8(random, random.Next(0, 20), false), fin: false);
                if (random.Next(2) == 0)
                {
                    AddControl(builder, random, expected);
                }

                builder.Frame(RandomDataOpcode(random), small);
                return Errors.DataFrameInsideMessage;
            case 12:
                // Fail fast: the error comes at the bad bytes whether or not the frame or message ends there.
                byte[] text = [.. RandomUtf8(random, random.Next(0, 40), false), .. InvalidUtf8(random), .. RandomUtf8(random, random.Next(0, 40), false)];
                builder.Text(text, fin: random.Next(2) == 0);
                return Errors.InvalidUtf8;
            case 13:
                // A code point left open at the end of the message (section 8.1).
                builder.Text(RandomUtf8(random, random.Next(0, 20), false), fin: false);
                builder.Continuation([.. RandomUtf8(random, random.Next(0, 20), false), 0xE2, 0x82], fin: true);
                return Errors.InvalidUtf8;
            case 14:
                builder.Frame(RandomDataOpcode(random), small, declaredLength: 70_001);
                return Errors.FrameTooBig;
            case 15:
                builder.Frame(RandomOpcode(random), small, declaredLength: 0x8000_0000_0000_0000UL | (ulong)random.NextInt64(), form: LengthForm.Extended64);
                return Errors.LengthMostSignificantBit;
            default:
                if (compression && random.Next(2) == 0)
                {
                    // RFC 7692 section 6.1: RSV1 belongs to the first frame of a message only.
                    builder.Frame(WebSocketOpcode.Binary, small, fin: false, rsv1: random.Next(2) == 0);
                    builder.Frame(WebSocketOpcode.Continuation, small, fin: random.Next(2) == 0, rsv1: true);
                    return Errors.Rsv1OnContinuation;
                }

                // Nine frames where the limit is eight.
                builder.Frame(WebSocketOpcode.Binary, small, fin: false);
                for (var i = 0; i < 8; i++)
                {
                    builder.Continuation(small, fin: random.Next(2) == 0 && i == 7);
                }

                return Errors.TooManyFragments;
        }
    }

    public static ushort ValidCloseCode(Random random) => random.Next(4) switch
    {
        0 => (ushort)random.Next(1000, 1004),
        1 => (ushort)random.Next(1007, 1015),
        _ => (ushort)random.Next(3000, 5000),
    };

    private static WebSocketOpcode RandomOpcode(Random random)
    {
        WebSocketOpcode[] all = [WebSocketOpcode.Text, WebSocketOpcode.Binary, WebSocketOpcode.Continuation, WebSocketOpcode.Ping, WebSocketOpcode.Pong, WebSocketOpcode.Close];
        return all[random.Next(all.Length)];
    }

    private static WebSocketOpcode RandomDataOpcode(Random random) => random.Next(2) == 0 ? WebSocketOpcode.Text : WebSocketOpcode.Binary;
}
