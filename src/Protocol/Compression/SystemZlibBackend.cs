using System.Buffers;
using System.Numerics;
using System.Runtime.InteropServices;

namespace Shockwave.Protocol.Compression;

/// <summary>
/// Raw DEFLATE through the operating system's zlib (<c>libz.so.1</c>, <c>libz.1.dylib</c>) by its documented, stable ABI.
/// It does what <see cref="System.IO.Compression.DeflateStream"/> cannot: a true window of 2^9..2^15, a chosen memLevel,
/// span-in/span-out without stream adapters, and an inflater window of the peer's negotiated size. Against the bundled
/// zlib-ng it compresses about a third slower (20 against 15 µs per 1 KiB JSON message; inflating costs the same) but
/// holds half the memory per connection at the same settings, and far less with a smaller memLevel, so it is opt-in
/// (<see cref="PerMessageDeflateCodec.SystemZlib"/>). Where the library is missing (Windows, minimal and distroless
/// images) the codec falls back to <see cref="DeflateStreamBackend"/>, which accepts every stream this one would.
/// </summary>
/// <remarks>
/// Not the runtime's private <c>libSystem.IO.Compression.Native</c>: its exports are an internal ABI that may change
/// without notice (platform notes 4.4).
/// </remarks>
internal sealed unsafe class SystemZlibBackend : IDeflateBackend
{
    private static readonly Lazy<ZlibApi?> Api = new(ZlibApi.TryLoad);
    private readonly ZlibApi _api;
    private readonly int _memoryLevel;

    private SystemZlibBackend(ZlibApi api, int memoryLevel)
    {
        _api = api;
        _memoryLevel = memoryLevel;
    }

    /// <summary>Whether a usable system zlib was found on this machine.</summary>
    public static bool IsAvailable => Api.Value is not null;

    /// <summary>The system zlib's version string, or null when there is none.</summary>
    public static string? Version => Api.Value?.Version;

    public string Name => "system zlib " + _api.Version;

    /// <summary>A backend with the given memLevel (1..9), or null when no system zlib can be loaded.</summary>
    public static SystemZlibBackend? TryCreate(int memoryLevel) =>
        Api.Value is { } api ? new SystemZlibBackend(api, memoryLevel) : null;

    public IRawDeflater CreateDeflater(int compressionLevel, int windowBits) =>
        new ZlibDeflater(_api, compressionLevel, windowBits, _memoryLevel);

    public IRawInflater CreateInflater(int windowBits) => new ZlibInflater(_api, windowBits);

    private const int ZOk = 0;
    private const int ZStreamEnd = 1;
    private const int ZNeedDict = 2;
    private const int ZDataError = -3;
    private const int ZMemError = -4;
    private const int ZBufError = -5;
    private const int ZSyncFlush = 2;
    private const int ZDeflated = 8;
    private const int ZDefaultStrategy = 0;

    /// <summary>
    /// <c>z_stream</c> as zlib.h declares it. <c>uLong</c> is C's <c>unsigned long</c>: 64-bit on LP64 Unix, 32-bit on
    /// Windows, which <see cref="CULong"/> follows; the size is passed to the init calls, which reject a mismatch.
    /// </summary>
    [StructLayout(LayoutKind.Sequential)]
    private struct ZStream
    {
        public byte* NextIn;
        public uint AvailIn;
        public CULong TotalIn;
        public byte* NextOut;
        public uint AvailOut;
        public CULong TotalOut;
        public byte* Msg;
        public void* State;
        public void* ZAlloc;
        public void* ZFree;
        public void* Opaque;
        public int DataType;
        public CULong Adler;
        public CULong Reserved;
    }

    private sealed class ZlibApi
    {
        public readonly delegate* unmanaged[Cdecl]<ZStream*, int, int, int, int, int, byte*, int, int> DeflateInit2;
        public readonly delegate* unmanaged[Cdecl]<ZStream*, int, int> Deflate;
        public readonly delegate* unmanaged[Cdecl]<ZStream*, int> DeflateEnd;
        public readonly delegate* unmanaged[Cdecl]<ZStream*, int, byte*, int, int> InflateInit2;
        public readonly delegate* unmanaged[Cdecl]<ZStream*, int, int> Inflate;
        public readonly delegate* unmanaged[Cdecl]<ZStream*, int> InflateEnd;
        public readonly byte* VersionPointer;
        public readonly string Version;

        private ZlibApi(nint library)
        {
            DeflateInit2 = (delegate* unmanaged[Cdecl]<ZStream*, int, int, int, int, int, byte*, int, int>)NativeLibrary.GetExport(library, "deflateInit2_");
            Deflate = (delegate* unmanaged[Cdecl]<ZStream*, int, int>)NativeLibrary.GetExport(library, "deflate");
            DeflateEnd = (delegate* unmanaged[Cdecl]<ZStream*, int>)NativeLibrary.GetExport(library, "deflateEnd");
            InflateInit2 = (delegate* unmanaged[Cdecl]<ZStream*, int, byte*, int, int>)NativeLibrary.GetExport(library, "inflateInit2_");
            Inflate = (delegate* unmanaged[Cdecl]<ZStream*, int, int>)NativeLibrary.GetExport(library, "inflate");
            InflateEnd = (delegate* unmanaged[Cdecl]<ZStream*, int>)NativeLibrary.GetExport(library, "inflateEnd");
            var zlibVersion = (delegate* unmanaged[Cdecl]<byte*>)NativeLibrary.GetExport(library, "zlibVersion");

            // The init calls compare the first character of this string with their own, so pass the library's own.
            VersionPointer = zlibVersion();
            Version = Marshal.PtrToStringAnsi((nint)VersionPointer) ?? "";
        }

        public static ZlibApi? TryLoad()
        {
            // Windows has no system zlib, and a zlib1.dll found on PATH could be any build; keep to the Unix names.
            if (OperatingSystem.IsWindows())
            {
                return null;
            }

            string[] names = OperatingSystem.IsMacOS() || OperatingSystem.IsIOS()
                ? ["libz.1.dylib", "libz.dylib"]
                : ["libz.so.1", "libz.so"];
            foreach (string name in names)
            {
                if (NativeLibrary.TryLoad(name, out nint library))
                {
                    try
                    {
                        var api = new ZlibApi(library);
                        if (api.Version.StartsWith("1.", StringComparison.Ordinal))
                        {
                            return api;
                        }
                    }
                    catch (EntryPointNotFoundException)
                    {
                        // Not a zlib after all; try the next name.
                    }
                }
            }

            return null;
        }
    }

    private sealed class ZlibDeflater(ZlibApi api, int compressionLevel, int windowBits, int memoryLevel) : IRawDeflater
    {
        // zlib never refers further back than 2^bits - MIN_LOOKAHEAD (262) bytes.
        private const int MinLookahead = 262;

        private ZStream* _stream;
        private int _nextWindowBits; // 0: the negotiated window and the configured memLevel
        private int _nextMemoryLevel;

        public void PrepareSingleMessage(int length)
        {
            if (_stream is not null)
            {
                return;
            }

            // The smallest window that still reaches the message's first byte from its last, and a hash table to match
            // (memLevel + 7 hash bits, zlib's own proportion at its defaults of 15 and 8). A 1 KiB message then builds
            // and clears about 12 KiB of state instead of 256 KiB, which glibc would hand back to the kernel on every
            // release and fault in again on every message.
            int needed = BitOperations.Log2((uint)Math.Min((long)length + MinLookahead, 1 << 15) - 1) + 1;
            _nextWindowBits = Math.Clamp(needed, 9, Math.Max(windowBits, 9));
            _nextMemoryLevel = Math.Clamp(_nextWindowBits - 8, 1, memoryLevel);
        }

        public void CompressAndFlush(ReadOnlySpan<byte> input, IBufferWriter<byte> output)
        {
            var stream = _stream is null ? Initialize() : _stream;
            fixed (byte* source = input)
            {
                stream->NextIn = source;
                stream->AvailIn = (uint)input.Length;
                try
                {
                    while (true)
                    {
                        var span = output.GetSpan(Math.Clamp(input.Length + 64, 256, 64 * 1024));
                        int status;
                        fixed (byte* target = span)
                        {
                            stream->NextOut = target;
                            stream->AvailOut = (uint)span.Length;
                            status = api.Deflate(stream, ZSyncFlush);
                        }

                        int produced = span.Length - (int)stream->AvailOut;
                        output.Advance(produced);
                        if (status == ZBufError && produced == 0)
                        {
                            // No input and nothing pending since the last flush: there is nothing to write.
                            break;
                        }

                        if (status != ZOk)
                        {
                            throw new InvalidOperationException($"zlib deflate failed with {status}.");
                        }

                        // zlib.h: the flush is complete when deflate returns with output space left over.
                        if (stream->AvailOut != 0)
                        {
                            break;
                        }
                    }
                }
                finally
                {
                    stream->NextIn = null;
                    stream->AvailIn = 0;
                    stream->NextOut = null;
                    stream->AvailOut = 0;
                }
            }
        }

        private ZStream* Initialize()
        {
            var stream = (ZStream*)NativeMemory.AllocZeroed((nuint)sizeof(ZStream));

            // Negative windowBits selects raw DEFLATE (RFC 7692 section 7.3: no zlib header). zlib 1.2.9+ refuses 8 for raw
            // deflate; 9 serves it, because zlib's deflate never refers further back than 2^bits - 262 = 250 bytes at 9.
            int bits = Math.Max(_nextWindowBits == 0 ? windowBits : _nextWindowBits, 9);
            int level = _nextWindowBits == 0 ? memoryLevel : _nextMemoryLevel;
            _nextWindowBits = 0;
            int status = api.DeflateInit2(stream, compressionLevel, ZDeflated, -bits, level, ZDefaultStrategy, api.VersionPointer, sizeof(ZStream));
            if (status != ZOk)
            {
                NativeMemory.Free(stream);
                throw status == ZMemError ? new InsufficientMemoryException("zlib could not allocate its state.") : new InvalidOperationException($"zlib deflateInit2 failed with {status}.");
            }

            _stream = stream;
            return stream;
        }

        public void Reset()
        {
            // Released rather than deflateReset: the reset is wanted exactly where memory per idle connection matters.
            if (_stream is not null)
            {
                api.DeflateEnd(_stream);
                NativeMemory.Free(_stream);
                _stream = null;
            }
        }

        public void Dispose()
        {
            Reset();
            GC.SuppressFinalize(this);
        }

        // The native state is plain memory from zlib's allocator: a connection dropped without Dispose still gives it back.
        ~ZlibDeflater() => Reset();
    }

    private sealed class ZlibInflater(ZlibApi api, int windowBits) : IRawInflater
    {
        private ZStream* _stream;

        public OperationStatus Inflate(ReadOnlySpan<byte> input, Span<byte> output, out int consumed, out int written)
        {
            var stream = _stream is null ? Initialize() : _stream;
            int status;
            fixed (byte* source = input)
            fixed (byte* target = output)
            {
                stream->NextIn = source;
                stream->AvailIn = (uint)input.Length;
                stream->NextOut = target;
                stream->AvailOut = (uint)output.Length;
                status = api.Inflate(stream, ZSyncFlush);
                consumed = input.Length - (int)stream->AvailIn;
                written = output.Length - (int)stream->AvailOut;
                stream->NextIn = null;
                stream->AvailIn = 0;
                stream->NextOut = null;
                stream->AvailOut = 0;
            }

            switch (status)
            {
                case ZStreamEnd:
                    return OperationStatus.Done;
                case ZOk or ZBufError:
                    // Z_BUF_ERROR is "no progress possible": the input is used up.
                    return written == output.Length && output.Length != 0 ? OperationStatus.DestinationTooSmall : OperationStatus.NeedMoreData;
                case ZDataError or ZNeedDict:
                    Reset();
                    return OperationStatus.InvalidData;
                case ZMemError:
                    throw new InsufficientMemoryException("zlib could not allocate its state.");
                default:
                    throw new InvalidOperationException($"zlib inflate failed with {status}.");
            }
        }

        private ZStream* Initialize()
        {
            var stream = (ZStream*)NativeMemory.AllocZeroed((nuint)sizeof(ZStream));

            // The window the peer agreed to (RFC 7692 section 7.2.2): 2^bits bytes instead of 32 KiB when it is smaller.
            int status = api.InflateInit2(stream, -windowBits, api.VersionPointer, sizeof(ZStream));
            if (status != ZOk)
            {
                NativeMemory.Free(stream);
                throw status == ZMemError ? new InsufficientMemoryException("zlib could not allocate its state.") : new InvalidOperationException($"zlib inflateInit2 failed with {status}.");
            }

            _stream = stream;
            return stream;
        }

        public void Reset()
        {
            if (_stream is not null)
            {
                api.InflateEnd(_stream);
                NativeMemory.Free(_stream);
                _stream = null;
            }
        }

        public void Dispose()
        {
            Reset();
            GC.SuppressFinalize(this);
        }

        // The native state is plain memory from zlib's allocator: a connection dropped without Dispose still gives it back.
        ~ZlibInflater() => Reset();
    }
}
