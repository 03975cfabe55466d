using System.Globalization;
using System.Runtime.InteropServices;
using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Columns;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Reports;
using BenchmarkDotNet.Running;
using Shockwave.Protocol;

namespace Shockwave.Benchmarks;

/// <summary>
/// Masking throughput (RFC 6455 section 5.3) against a naive byte-at-a-time loop and against
/// <see cref="Span{T}.CopyTo"/> of the same size, which touches the same memory and marks the bandwidth ceiling.
/// </summary>
[MemoryDiagnoser]
[Config(typeof(ThroughputConfig))]
public class MaskingBenchmarks
{
    private static readonly byte[] WireKey = [0x37, 0xFA, 0x21, 0x3D];
    private static readonly uint MaskKey = MemoryMarshal.Read<uint>(WireKey);

    private byte[] _source = [];
    private byte[] _destination = [];

    /// <summary>Payload size in bytes: a small message, a typical one, a large frame, a large message.</summary>
    [Params(16, 1024, 64 * 1024, 1024 * 1024)]
    public int Size { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _source = new byte[Size];
        _destination = new byte[Size];
        new Random(6455).NextBytes(_source);
        _source.CopyTo(_destination, 0);
    }

    /// <summary>What a straightforward implementation of section 5.3 does: one byte, one key lookup.</summary>
    [Benchmark(Baseline = true)]
    public int ByteLoop()
    {
        var data = _destination;
        var key = WireKey;
        var offset = 0;
        for (var i = 0; i < data.Length; i++)
        {
            data[i] ^= key[offset];
            offset = (offset + 1) & 3;
        }

        return offset;
    }

    [Benchmark]
    public int ApplyInPlace() => WebSocketMask.Apply(_destination, MaskKey, 0);

    [Benchmark]
    public int ApplyCopy() => WebSocketMask.Apply(_source, _destination, MaskKey, 0);

    [Benchmark]
    public int ApplyInPlaceV256() => WebSocketMask.Apply(_destination, MaskKey, 0, MaskVectorWidth.V256);

    [Benchmark]
    public int ApplyInPlaceV128() => WebSocketMask.Apply(_destination, MaskKey, 0, MaskVectorWidth.V128);

    [Benchmark]
    public int ApplyInPlaceScalar() => WebSocketMask.Apply(_destination, MaskKey, 0, MaskVectorWidth.Scalar);

    /// <summary>The memory-bandwidth ceiling: read the source, write the destination, no work in between.</summary>
    [Benchmark]
    public void CopyTo() => _source.AsSpan().CopyTo(_destination);
}

/// <summary>
/// Adds throughput columns computed from the <c>Size</c> parameter: from the mean time, and from the fastest
/// iteration, which is the steadier figure on a machine shared with other work.
/// </summary>
public sealed class ThroughputConfig : ManualConfig
{
    public ThroughputConfig() => AddColumn(new ThroughputColumn(fromFastest: false), new ThroughputColumn(fromFastest: true));
}

/// <summary>Bytes processed per second, in 10^9 bytes, for benchmarks with an integer <c>Size</c> parameter.</summary>
public sealed class ThroughputColumn(bool fromFastest) : IColumn
{
    public string Id => fromFastest ? "ThroughputColumn.Fastest" : "ThroughputColumn.Mean";

    public string ColumnName => fromFastest ? "GB/s best" : "GB/s";

    public bool AlwaysShow => true;

    public ColumnCategory Category => ColumnCategory.Custom;

    public int PriorityInCategory => fromFastest ? 1 : 0;

    public bool IsNumeric => true;

    public UnitType UnitType => UnitType.Dimensionless;

    public string Legend => fromFastest
        ? "Size bytes / fastest iteration, in 10^9 bytes per second"
        : "Size bytes / mean time, in 10^9 bytes per second";

    public string GetValue(Summary summary, BenchmarkCase benchmarkCase) =>
        GetValue(summary, benchmarkCase, SummaryStyle.Default);

    public string GetValue(Summary summary, BenchmarkCase benchmarkCase, SummaryStyle style)
    {
        var statistics = summary[benchmarkCase]?.ResultStatistics;
        var nanoseconds = fromFastest ? statistics?.Min : statistics?.Mean;
        if (nanoseconds is not > 0 || benchmarkCase.Parameters["Size"] is not int size)
        {
            return "?";
        }

        // Bytes per nanosecond is 10^9 bytes per second.
        return (size / nanoseconds.Value).ToString("0.00", CultureInfo.InvariantCulture);
    }

    public bool IsAvailable(Summary summary) => true;

    public bool IsDefault(Summary summary, BenchmarkCase benchmarkCase) => false;
}
