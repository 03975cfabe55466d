using System.Buffers.Binary;
using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace Shockwave.Protocol;

/// <summary>
/// Payload masking and unmasking (RFC 6455 section 5.3). Masking is an XOR with the 4-byte key repeated
/// over the payload, so the same call masks and unmasks.
/// </summary>
/// <remarks>
/// <para>
/// The mask key is passed as a <see cref="uint"/> holding the four key bytes in wire order, read in native
/// memory order: <c>MemoryMarshal.Read&lt;uint&gt;(keyBytesFromTheFrameHeader)</c>. Byte <c>i</c> of a call's
/// data is XORed with key byte <c>(maskOffset + i) % 4</c> (section 5.3: <c>j = i MOD 4</c>).
/// </para>
/// <para>
/// A payload rarely arrives in one buffer, so each call takes the payload position of its first byte
/// (<c>maskOffset</c>) and returns the position after its last one. Feeding the pieces of a payload in order,
/// split anywhere, gives the same bytes as one call over the whole payload.
/// </para>
/// </remarks>
public static class WebSocketMask
{
    /// <summary>Masks or unmasks <paramref name="data"/> in place.</summary>
    /// <param name="data">Payload bytes; replaced by their masked (or unmasked) value.</param>
    /// <param name="maskKey">The frame's masking key: its four wire bytes read as a native-endian <see cref="uint"/>.</param>
    /// <param name="maskOffset">
    /// The payload position of <c>data[0]</c>, modulo 4; 0 for the start of a payload. Only the low two bits are used,
    /// so a running payload position may be passed as is.
    /// </param>
    /// <returns>The offset to pass with the next piece of the same payload: <c>maskOffset + data.Length</c> modulo 4, in the range 0-3.</returns>
    public static int Apply(Span<byte> data, uint maskKey, int maskOffset) =>
        Apply(data, maskKey, maskOffset, MaskVectorWidth.Auto);

    /// <summary>Writes the masked (or unmasked) value of <paramref name="source"/> to <paramref name="destination"/>.</summary>
    /// <param name="source">Payload bytes to read.</param>
    /// <param name="destination">
    /// Receives <c>source.Length</c> bytes; bytes past that are left untouched. It may be the very same memory as
    /// <paramref name="source"/> (in-place), but must not otherwise overlap it.
    /// </param>
    /// <param name="maskKey">The frame's masking key: its four wire bytes read as a native-endian <see cref="uint"/>.</param>
    /// <param name="maskOffset">The payload position of <c>source[0]</c>, modulo 4; only the low two bits are used.</param>
    /// <returns>The offset to pass with the next piece of the same payload: <c>maskOffset + source.Length</c> modulo 4, in the range 0-3.</returns>
    /// <exception cref="ArgumentException">
    /// <paramref name="destination"/> is shorter than <paramref name="source"/>, or the two partly overlap.
    /// </exception>
    public static int Apply(ReadOnlySpan<byte> source, Span<byte> destination, uint maskKey, int maskOffset) =>
        Apply(source, destination, maskKey, maskOffset, MaskVectorWidth.Auto);

    /// <summary>In-place masking limited to vectors of at most <paramref name="width"/>, so tests reach every path.</summary>
    internal static int Apply(Span<byte> data, uint maskKey, int maskOffset, MaskVectorWidth width)
    {
        ref var start = ref MemoryMarshal.GetReference(data);
        ApplyCore(ref start, ref start, (nuint)data.Length, maskKey, maskOffset, width);
        return unchecked(maskOffset + data.Length) & 3;
    }

    /// <summary>Copy masking limited to vectors of at most <paramref name="width"/>, so tests reach every path.</summary>
    internal static int Apply(ReadOnlySpan<byte> source, Span<byte> destination, uint maskKey, int maskOffset, MaskVectorWidth width)
    {
        if (destination.Length < source.Length)
        {
            throw new ArgumentException("The destination is shorter than the source.", nameof(destination));
        }

        // Every block is loaded before anything is stored over it, so identical spans are safe; a shifted overlap
        // would let a store clobber source bytes not yet read.
        if (source.Overlaps(destination, out var elementOffset) && elementOffset != 0)
        {
            throw new ArgumentException("The destination partly overlaps the source.", nameof(destination));
        }

        ApplyCore(
            ref MemoryMarshal.GetReference(source),
            ref MemoryMarshal.GetReference(destination),
            (nuint)source.Length,
            maskKey,
            maskOffset,
            width);
        return unchecked(maskOffset + source.Length) & 3;
    }

    private static void ApplyCore(ref byte source, ref byte destination, nuint length, uint maskKey, int maskOffset, MaskVectorWidth width)
    {
        // Rotate the key once so that its low byte is key byte maskOffset, the one the first byte needs. After
        // that every vector and every ulong step covers a multiple of 4 bytes, so one broadcast key fits every
        // block with no per-byte bookkeeping (the idea of ManagedWebSocket.ApplyMask in dotnet/runtime).
        // "rotated" keeps the key byte for the current position in its low 8 bits on any platform; MemoryOrder
        // turns it into the byte layout a broadcast into a vector needs.
        var wireOrder = BitConverter.IsLittleEndian ? maskKey : BinaryPrimitives.ReverseEndianness(maskKey);
        var rotated = BitOperations.RotateRight(wireOrder, (maskOffset & 3) * 8);

        nuint i = 0;

        // Each width runs as a loop so a forced width processes everything it can; under Auto the narrower
        // loops run at most once, on what the wider one left.
        if (Vector512.IsHardwareAccelerated && width >= MaskVectorWidth.V512 && length >= (nuint)(2 * Vector512<byte>.Count))
        {
            var mask = Vector512.Create(MemoryOrder(rotated)).AsByte();

            // Payloads sit at arbitrary offsets in pipe buffers, and a 64-byte store that straddles two cache
            // lines halves throughput (measured: 64 KiB in place took 2.6x as long misaligned). So mask the first
            // vector up front, run the loop from the first 64-byte boundary of the destination, and store the first
            // vector last: the bytes it shares with the loop get the same values, and in place the loop still reads
            // them unmasked because nothing was stored there before it read them.
            var first = Vector512.LoadUnsafe(ref source) ^ mask;
            i = BytesToAlignment(ref destination, (nuint)Vector512<byte>.Count);
            rotated = BitOperations.RotateRight(rotated, (int)(i & 3) * 8);
            mask = Vector512.Create(MemoryOrder(rotated)).AsByte();

            // Four vectors per iteration keeps the loop counter and branch off the load/store critical path.
            for (; length - i >= (nuint)(4 * Vector512<byte>.Count); i += (nuint)(4 * Vector512<byte>.Count))
            {
                var a = Vector512.LoadUnsafe(ref source, i);
                var b = Vector512.LoadUnsafe(ref source, i + (nuint)Vector512<byte>.Count);
                var c = Vector512.LoadUnsafe(ref source, i + (nuint)(2 * Vector512<byte>.Count));
                var d = Vector512.LoadUnsafe(ref source, i + (nuint)(3 * Vector512<byte>.Count));
                (a ^ mask).StoreUnsafe(ref destination, i);
                (b ^ mask).StoreUnsafe(ref destination, i + (nuint)Vector512<byte>.Count);
                (c ^ mask).StoreUnsafe(ref destination, i + (nuint)(2 * Vector512<byte>.Count));
                (d ^ mask).StoreUnsafe(ref destination, i + (nuint)(3 * Vector512<byte>.Count));
            }

            for (; length - i >= (nuint)Vector512<byte>.Count; i += (nuint)Vector512<byte>.Count)
            {
                (Vector512.LoadUnsafe(ref source, i) ^ mask).StoreUnsafe(ref destination, i);
            }

            first.StoreUnsafe(ref destination);
        }

        if (Vector256.IsHardwareAccelerated && width >= MaskVectorWidth.V256 && length - i >= (nuint)Vector256<byte>.Count)
        {
            var mask = Vector256.Create(MemoryOrder(rotated)).AsByte();

            // The same alignment step as above when this is the widest path in use (no AVX-512, or forced).
            if (i == 0 && length >= (nuint)(2 * Vector256<byte>.Count))
            {
                var first = Vector256.LoadUnsafe(ref source) ^ mask;
                i = BytesToAlignment(ref destination, (nuint)Vector256<byte>.Count);
                rotated = BitOperations.RotateRight(rotated, (int)(i & 3) * 8);
                mask = Vector256.Create(MemoryOrder(rotated)).AsByte();
                for (; length - i >= (nuint)(4 * Vector256<byte>.Count); i += (nuint)(4 * Vector256<byte>.Count))
                {
                    var a = Vector256.LoadUnsafe(ref source, i);
                    var b = Vector256.LoadUnsafe(ref source, i + (nuint)Vector256<byte>.Count);
                    var c = Vector256.LoadUnsafe(ref source, i + (nuint)(2 * Vector256<byte>.Count));
                    var d = Vector256.LoadUnsafe(ref source, i + (nuint)(3 * Vector256<byte>.Count));
                    (a ^ mask).StoreUnsafe(ref destination, i);
                    (b ^ mask).StoreUnsafe(ref destination, i + (nuint)Vector256<byte>.Count);
                    (c ^ mask).StoreUnsafe(ref destination, i + (nuint)(2 * Vector256<byte>.Count));
                    (d ^ mask).StoreUnsafe(ref destination, i + (nuint)(3 * Vector256<byte>.Count));
                }

                for (; length - i >= (nuint)Vector256<byte>.Count; i += (nuint)Vector256<byte>.Count)
                {
                    (Vector256.LoadUnsafe(ref source, i) ^ mask).StoreUnsafe(ref destination, i);
                }

                first.StoreUnsafe(ref destination);
            }
            else
            {
                // At most one iteration under Auto on AVX-512 hardware; a loop only for a forced width with a
                // payload too short to be worth aligning.
                for (; length - i >= (nuint)Vector256<byte>.Count; i += (nuint)Vector256<byte>.Count)
                {
                    (Vector256.LoadUnsafe(ref source, i) ^ mask).StoreUnsafe(ref destination, i);
                }
            }
        }

        // 16-byte accesses cross a cache line at most once in four even when misaligned, so no alignment step here.
        if (Vector128.IsHardwareAccelerated && width >= MaskVectorWidth.V128 && length - i >= (nuint)Vector128<byte>.Count)
        {
            var mask = Vector128.Create(MemoryOrder(rotated)).AsByte();
            for (; length - i >= (nuint)(4 * Vector128<byte>.Count); i += (nuint)(4 * Vector128<byte>.Count))
            {
                var a = Vector128.LoadUnsafe(ref source, i);
                var b = Vector128.LoadUnsafe(ref source, i + (nuint)Vector128<byte>.Count);
                var c = Vector128.LoadUnsafe(ref source, i + (nuint)(2 * Vector128<byte>.Count));
                var d = Vector128.LoadUnsafe(ref source, i + (nuint)(3 * Vector128<byte>.Count));
                (a ^ mask).StoreUnsafe(ref destination, i);
                (b ^ mask).StoreUnsafe(ref destination, i + (nuint)Vector128<byte>.Count);
                (c ^ mask).StoreUnsafe(ref destination, i + (nuint)(2 * Vector128<byte>.Count));
                (d ^ mask).StoreUnsafe(ref destination, i + (nuint)(3 * Vector128<byte>.Count));
            }

            for (; length - i >= (nuint)Vector128<byte>.Count; i += (nuint)Vector128<byte>.Count)
            {
                (Vector128.LoadUnsafe(ref source, i) ^ mask).StoreUnsafe(ref destination, i);
            }
        }

        // Both halves of the ulong hold the same 4 key bytes, so the layout is right on either endianness.
        var memoryOrder = MemoryOrder(rotated);
        var mask64 = ((ulong)memoryOrder << 32) | memoryOrder;
        for (; length - i >= sizeof(ulong); i += sizeof(ulong))
        {
            var value = Unsafe.ReadUnaligned<ulong>(ref Unsafe.Add(ref source, i));
            Unsafe.WriteUnaligned(ref Unsafe.Add(ref destination, i), value ^ mask64);
        }

        // Small payloads (control frames, chat messages) end here, so take 4 bytes at once before the last 0-3.
        if (length - i >= sizeof(uint))
        {
            var value = Unsafe.ReadUnaligned<uint>(ref Unsafe.Add(ref source, i));
            Unsafe.WriteUnaligned(ref Unsafe.Add(ref destination, i), value ^ memoryOrder);
            i += sizeof(uint);
        }

        // Every step since the last re-rotation covered a multiple of 4 bytes, so the low byte of "rotated" is
        // still the key byte for position i; rotating by one byte per step walks the key.
        for (; i < length; i++)
        {
            Unsafe.Add(ref destination, i) = (byte)(Unsafe.Add(ref source, i) ^ (byte)rotated);
            rotated = BitOperations.RotateRight(rotated, 8);
        }
    }

    /// <summary>The key bytes of <paramref name="wireOrder"/> laid out in memory in wire order, for broadcasting.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static uint MemoryOrder(uint wireOrder) =>
        BitConverter.IsLittleEndian ? wireOrder : BinaryPrimitives.ReverseEndianness(wireOrder);

    /// <summary>How many bytes from <paramref name="destination"/> to the next multiple of <paramref name="alignment"/>.</summary>
    /// <remarks>
    /// The only <c>unsafe</c> code here: it reads the address, nothing more. If the GC moves the buffer afterwards the
    /// loop merely runs misaligned; results do not depend on the value.
    /// </remarks>
    private static unsafe nuint BytesToAlignment(ref byte destination, nuint alignment) =>
        (alignment - ((nuint)Unsafe.AsPointer(ref destination) & (alignment - 1))) & (alignment - 1);
}

/// <summary>The widest vector <see cref="WebSocketMask"/> may use; anything the hardware lacks falls back to the next narrower width.</summary>
internal enum MaskVectorWidth
{
    /// <summary>8-byte words, then single bytes.</summary>
    Scalar = 0,

    /// <summary>Up to 16-byte vectors.</summary>
    V128 = 1,

    /// <summary>Up to 32-byte vectors.</summary>
    V256 = 2,

    /// <summary>Up to 64-byte vectors.</summary>
    V512 = 3,

    /// <summary>The widest the hardware accelerates.</summary>
    Auto = 4,
}
