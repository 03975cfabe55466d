using System.Buffers;
using BenchmarkDotNet.Attributes;
using Shockwave.Protocol;

namespace Shockwave.Benchmarks;

/// <summary>
/// The receive path's fixed cost per frame: decoding and validating a header (RFC 6455 section 5.2), and a whole
/// small frame through the incremental reader (header, in-place unmask, UTF-8 check).
/// </summary>
[MemoryDiagnoser]
public class FrameReaderBenchmarks
{
    private static readonly FrameReaderOptions Options = new();
    private readonly WebSocketFrameReader _reader = new(WebSocketRole.Server, Options);
    private byte[] _smallFrame = [];
    private byte[] _mediumHeader = [];
    private byte[] _largeHeader = [];
    private byte[] _pristine = [];

    [GlobalSetup]
    public void Setup()
    {
        _smallFrame = MaskedTextFrame(64);
        _pristine = (byte[])_smallFrame.Clone();
        _mediumHeader = MaskedTextFrame(1024)[..8];
        _largeHeader = MaskedHeader(70_000);
    }

    /// <summary>A 2-byte header plus mask key: the common chat-sized frame.</summary>
    [Benchmark(Baseline = true)]
    public OperationStatus ParseHeader_7BitLength() =>
        WebSocketFrameReader.TryReadHeader(new ReadOnlySequence<byte>(_smallFrame), WebSocketRole.Server, Options, out _, out _);

    /// <summary>A 16-bit extended length.</summary>
    [Benchmark]
    public OperationStatus ParseHeader_16BitLength() =>
        WebSocketFrameReader.TryReadHeader(new ReadOnlySequence<byte>(_mediumHeader), WebSocketRole.Server, Options, out _, out _);

    /// <summary>A 64-bit extended length.</summary>
    [Benchmark]
    public OperationStatus ParseHeader_64BitLength() =>
        WebSocketFrameReader.TryReadHeader(new ReadOnlySequence<byte>(_largeHeader), WebSocketRole.Server, Options, out _, out _);

    /// <summary>
    /// A whole 64-byte masked text frame through the connection's reader: header, unmask in place, UTF-8 validation.
    /// The frame is restored from a pristine copy first (the reader unmasks in place), which costs a 70-byte copy.
    /// </summary>
    [Benchmark]
    public FrameReadStatus ReadWholeFrame_64ByteText()
    {
        _pristine.CopyTo(_smallFrame, 0);
        var buffer = new ReadOnlySequence<byte>(_smallFrame);
        return _reader.Read(ref buffer, out _, out _);
    }

    private static byte[] MaskedTextFrame(int payloadLength)
    {
        var writer = new ArrayBufferWriter<byte>();
        var payload = new byte[payloadLength];
        payload.AsSpan().Fill((byte)'a');
        WebSocketFrameWriter.WriteFrame(writer, WebSocketOpcode.Text, fin: true, rsv1: false, payload, maskKey: 0x3D21FA37);
        return writer.WrittenSpan.ToArray();
    }

    private static byte[] MaskedHeader(long payloadLength)
    {
        var header = new byte[WebSocketFrameWriter.MaxHeaderLength];
        int length = WebSocketFrameWriter.WriteHeader(header, WebSocketOpcode.Binary, fin: true, rsv1: false, payloadLength, maskKey: 0x3D21FA37);
        return header[..length];
    }
}
