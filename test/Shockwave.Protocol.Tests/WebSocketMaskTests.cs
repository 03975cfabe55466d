using System.Runtime.InteropServices;
using Shockwave.Protocol;

namespace Shockwave.Protocol.Tests;

// Masking is checked against the definition in RFC 6455 section 5.3 (server side of R6455-6.2-e):
// transformed[i] = original[i] XOR key[i MOD 4], where i counts from the start of the payload.
public class WebSocketMaskTests
{
    private static readonly byte[] WireKey = [0x37, 0xFA, 0x21, 0x3D];
    private static readonly uint MaskKey = MemoryMarshal.Read<uint>(WireKey);

    // By name: the enum is internal, and a public test method cannot take it as a parameter. Widths the hardware
    // lacks fall back to the next narrower one, so on an AVX-512 machine each name reaches a different loop.
    public static TheoryData<string> Widths => new() { "Scalar", "V128", "V256", "V512", "Auto" };

    // 0..300 covers every tail length behind every vector width; the rest sit on either side of the 1x and 4x
    // (unrolled) block sizes of each width.
    private static readonly int[] Lengths =
    [
        .. Enumerable.Range(0, 301),
        383, 384, 385, 511, 512, 513, 1023, 1024, 1025, 4095, 4096, 4097, 65535, 65536, 65537,
    ];

    // R6455-6.2-e: the masked "Hello" vector of RFC 6455 section 5.7 (also listed under R6455-5.2 in the checklist):
    // 81 85 37 fa 21 3d 7f 9f 4d 51 58.
    [Theory]
    [MemberData(nameof(Widths))]
    public void Apply_Rfc6455Section57MaskedHello_MatchesWireBytes(string widthName)
    {
        var width = Enum.Parse<MaskVectorWidth>(widthName);
        var payload = "Hello"u8.ToArray();

        var next = WebSocketMask.Apply(payload, MaskKey, 0, width);

        Assert.Equal(new byte[] { 0x7F, 0x9F, 0x4D, 0x51, 0x58 }, payload);
        Assert.Equal(1, next);

        WebSocketMask.Apply(payload, MaskKey, 0, width);
        Assert.Equal("Hello"u8.ToArray(), payload);
    }

    [Fact]
    public void Apply_PublicOverloads_MaskHelloExample()
    {
        var payload = "Hello"u8.ToArray();
        var copy = new byte[5];

        Assert.Equal(1, WebSocketMask.Apply(payload, copy, MaskKey, 0));
        Assert.Equal(1, WebSocketMask.Apply(payload, MaskKey, 0));

        Assert.Equal(new byte[] { 0x7F, 0x9F, 0x4D, 0x51, 0x58 }, payload);
        Assert.Equal(payload, copy);
    }

    [Theory]
    [MemberData(nameof(Widths))]
    public void Apply_InPlace_EveryLengthAndOffset_MatchesReference(string widthName)
    {
        var width = Enum.Parse<MaskVectorWidth>(widthName);
        var random = new Random(6455);
        foreach (var length in Lengths)
        {
            var original = RandomBytes(random, length + 3);
            for (var offset = 0; offset < 4; offset++)
            {
                // Start 0-3 bytes into the array so the vector paths also see misaligned data.
                var shift = (length + offset) % 4;
                var data = (byte[])original.Clone();
                var span = data.AsSpan(shift, length);

                var next = WebSocketMask.Apply(span, MaskKey, offset, width);

                Assert.Equal((offset + length) & 3, next);
                AssertMasked(original, shift, data, shift, length, offset, $"width {width}, length {length}, offset {offset}");
                Assert.Equal(original.AsSpan(0, shift), data.AsSpan(0, shift));
                Assert.Equal(original.AsSpan(shift + length), data.AsSpan(shift + length));
            }
        }
    }

    [Theory]
    [MemberData(nameof(Widths))]
    public void Apply_Copy_EveryLengthAndOffset_MatchesReferenceAndLeavesSourceAlone(string widthName)
    {
        var width = Enum.Parse<MaskVectorWidth>(widthName);
        var random = new Random(5003);
        foreach (var length in Lengths)
        {
            var source = RandomBytes(random, length);
            var sourceBefore = (byte[])source.Clone();
            for (var offset = 0; offset < 4; offset++)
            {
                // A destination longer than the source, with a sentinel past the end that must survive.
                var destination = new byte[length + 8];
                destination.AsSpan().Fill(0xA5);

                var next = WebSocketMask.Apply(source, destination, MaskKey, offset, width);

                Assert.Equal((offset + length) & 3, next);
                AssertMasked(source, 0, destination, 0, length, offset, $"width {width}, length {length}, offset {offset}");
                Assert.All(destination.AsSpan(length).ToArray(), b => Assert.Equal(0xA5, b));
                Assert.Equal(sourceBefore, source);
            }
        }
    }

    // The wide paths align the destination to the vector size first; every start address modulo 64 must give the
    // same bytes, in place and copying, with source and destination misaligned differently.
    [Theory]
    [MemberData(nameof(Widths))]
    public void Apply_EveryStartAddressModulo64_MatchesReference(string widthName)
    {
        var width = Enum.Parse<MaskVectorWidth>(widthName);
        var random = new Random(64);
        var original = RandomBytes(random, 1200);
        foreach (var length in new[] { 64, 127, 128, 129, 200, 1000 })
        {
            for (var start = 0; start < 64; start++)
            {
                var offset = start & 3;
                var data = (byte[])original.Clone();
                WebSocketMask.Apply(data.AsSpan(start, length), MaskKey, offset, width);
                AssertMasked(original, start, data, start, length, offset, $"in place, width {width}, length {length}, start {start}");
                Assert.Equal(original.AsSpan(start + length), data.AsSpan(start + length));

                var destination = new byte[length + 100];
                var destinationStart = (start * 7) % 64;
                WebSocketMask.Apply(original.AsSpan(start, length), destination.AsSpan(destinationStart), MaskKey, offset, width);
                AssertMasked(original, start, destination, destinationStart, length, offset, $"copy, width {width}, length {length}, start {start}");
            }
        }
    }

    [Theory]
    [MemberData(nameof(Widths))]
    public void Apply_Copy_SourceAndDestinationSameMemory_MasksInPlace(string widthName)
    {
        var width = Enum.Parse<MaskVectorWidth>(widthName);
        var random = new Random(1);
        foreach (var length in new[] { 0, 1, 7, 8, 15, 16, 63, 64, 65, 255, 256, 257, 1000 })
        {
            var original = RandomBytes(random, length);
            var data = (byte[])original.Clone();

            WebSocketMask.Apply(data, data, MaskKey, 3, width);

            AssertMasked(original, 0, data, 0, length, 3, $"width {width}, length {length}");
        }
    }

    // A payload arrives in arbitrary pieces (frames split across reads, R6455-6.2-a); carrying the returned offset
    // must give the same bytes as one pass, whatever the split points.
    [Theory]
    [MemberData(nameof(Widths))]
    public void Apply_SplitAtRandomPoints_MatchesSinglePass(string widthName)
    {
        var width = Enum.Parse<MaskVectorWidth>(widthName);
        var random = new Random(42);
        foreach (var length in Lengths)
        {
            var original = RandomBytes(random, length);
            for (var startOffset = 0; startOffset < 4; startOffset++)
            {
                for (var trial = 0; trial < 3; trial++)
                {
                    var inPlace = (byte[])original.Clone();
                    var copied = new byte[length];
                    var offsetInPlace = startOffset;
                    var offsetCopy = startOffset;
                    var position = 0;
                    while (position < length)
                    {
                        // Mix short pieces (tails, odd offsets) with long ones (vector loops).
                        var piece = random.Next(4) == 0 ? random.Next(1, 8) : random.Next(1, length - position + 1);
                        piece = Math.Min(piece, length - position);
                        offsetInPlace = WebSocketMask.Apply(inPlace.AsSpan(position, piece), MaskKey, offsetInPlace, width);
                        offsetCopy = WebSocketMask.Apply(original.AsSpan(position, piece), copied.AsSpan(position), MaskKey, offsetCopy, width);
                        position += piece;
                    }

                    Assert.Equal((startOffset + length) & 3, offsetInPlace);
                    Assert.Equal(offsetInPlace, offsetCopy);
                    AssertMasked(original, 0, inPlace, 0, length, startOffset, $"width {width}, length {length}, offset {startOffset}");
                    Assert.Equal(inPlace, copied);
                }
            }
        }
    }

    [Theory]
    [MemberData(nameof(Widths))]
    public void Apply_OneMebibyteInUnevenPieces_MatchesReference(string widthName)
    {
        var width = Enum.Parse<MaskVectorWidth>(widthName);
        var random = new Random(1 << 20);
        var original = RandomBytes(random, 1 << 20);
        var data = (byte[])original.Clone();
        var offset = 2;
        var position = 0;
        while (position < data.Length)
        {
            var piece = Math.Min(random.Next(1, 70_000), data.Length - position);
            offset = WebSocketMask.Apply(data.AsSpan(position, piece), MaskKey, offset, width);
            position += piece;
        }

        Assert.Equal((2 + (1 << 20)) & 3, offset);
        AssertMasked(original, 0, data, 0, data.Length, 2, $"width {width}");
    }

    [Fact]
    public void Apply_EveryKeyByte_LinesUpWithWireOrder()
    {
        // Distinct key bytes and a zero payload expose any rotation or endianness slip: the output is the key itself.
        byte[] wire = [0x01, 0x02, 0x03, 0x04];
        var key = MemoryMarshal.Read<uint>(wire);
        foreach (var width in new[] { MaskVectorWidth.Scalar, MaskVectorWidth.V128, MaskVectorWidth.V256, MaskVectorWidth.V512 })
        {
            for (var offset = 0; offset < 4; offset++)
            {
                var data = new byte[131];
                WebSocketMask.Apply(data, key, offset, width);
                for (var i = 0; i < data.Length; i++)
                {
                    Assert.Equal(wire[(offset + i) & 3], data[i]);
                }
            }
        }
    }

    [Theory]
    [InlineData(4, 0)]
    [InlineData(5, 1)]
    [InlineData(1_000_003, 3)]
    [InlineData(-1, 3)]
    public void Apply_OffsetOutsideZeroToThree_UsesLowTwoBits(int offset, int equivalent)
    {
        var random = new Random(offset);
        var original = RandomBytes(random, 77);
        var actual = (byte[])original.Clone();
        var expected = (byte[])original.Clone();

        var next = WebSocketMask.Apply(actual, MaskKey, offset);
        WebSocketMask.Apply(expected, MaskKey, equivalent);

        Assert.Equal(expected, actual);
        Assert.Equal((equivalent + 77) & 3, next);
    }

    [Fact]
    public void Apply_Copy_DestinationTooShort_Throws()
    {
        var source = new byte[10];
        Assert.Throws<ArgumentException>(() => WebSocketMask.Apply(source, new byte[9], MaskKey, 0));
    }

    [Fact]
    public void Apply_Copy_PartialOverlap_Throws()
    {
        var buffer = new byte[200];
        Assert.Throws<ArgumentException>(() => WebSocketMask.Apply(buffer.AsSpan(0, 100), buffer.AsSpan(1, 100), MaskKey, 0));
        Assert.Throws<ArgumentException>(() => WebSocketMask.Apply(buffer.AsSpan(1, 100), buffer.AsSpan(0, 100), MaskKey, 0));
    }

    [Fact]
    public void Apply_Copy_AdjacentButNotOverlapping_Succeeds()
    {
        var buffer = new byte[200];
        buffer.AsSpan(0, 100).Fill(0x11);

        WebSocketMask.Apply(buffer.AsSpan(0, 100), buffer.AsSpan(100, 100), MaskKey, 0);

        AssertMasked(buffer, 0, buffer, 100, 100, 0, "adjacent");
    }

    private static byte[] RandomBytes(Random random, int length)
    {
        var bytes = new byte[length];
        random.NextBytes(bytes);
        return bytes;
    }

    // The section 5.3 definition, one byte at a time.
    private static void AssertMasked(byte[] original, int originalStart, byte[] actual, int actualStart, int length, int offset, string context)
    {
        for (var i = 0; i < length; i++)
        {
            var expected = (byte)(original[originalStart + i] ^ WireKey[(offset + i) & 3]);
            if (actual[actualStart + i] != expected)
            {
                Assert.Fail($"{context}: byte {i} is 0x{actual[actualStart + i]:X2}, expected 0x{expected:X2}.");
            }
        }
    }
}
