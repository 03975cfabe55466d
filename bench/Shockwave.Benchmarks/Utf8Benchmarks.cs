using System.Text;
using System.Text.Unicode;
using BenchmarkDotNet.Attributes;
using Shockwave.Protocol;

namespace Shockwave.Benchmarks;

/// <summary>
/// The streaming validator against <see cref="Utf8.IsValid(ReadOnlySpan{byte})"/> on the whole text: the cost of
/// streaming and fail-fast, whole and in 1000-byte chunks that cut code points.
/// </summary>
[MemoryDiagnoser]
[Config(typeof(ThroughputConfig))]
public class Utf8Benchmarks
{
    private const string MixedSample =
        "Shockwave sends text frames; κόσμε means cosmos, 日本語のテキスト is Japanese text, " +
        "Ünïcödé äccents and emoji 🎉🚀 sit between plain ASCII words of ordinary JSON {\"id\":42}.\n";

    private byte[] _text = [];

    [Params(1024, 64 * 1024)]
    public int Size { get; set; }

    [Params("Ascii", "Mixed")]
    public string Text { get; set; } = "Ascii";

    [GlobalSetup]
    public void Setup()
    {
        var sample = Text == "Ascii"
            ? "{\"type\":\"update\",\"id\":12345,\"name\":\"plain ASCII payload\",\"values\":[1,2,3,4,5]}\n"
            : MixedSample;
        var bytes = Encoding.UTF8.GetBytes(string.Concat(Enumerable.Repeat(sample, (Size / sample.Length) + 1)));

        // Cut at a code point boundary, then pad with spaces to exactly Size so the text stays valid.
        var length = Size;
        while ((bytes[length] & 0xC0) == 0x80)
        {
            length--;
        }

        _text = new byte[Size];
        bytes.AsSpan(0, length).CopyTo(_text);
        _text.AsSpan(length).Fill((byte)' ');
        if (!Utf8.IsValid(_text))
        {
            throw new InvalidOperationException("The benchmark text must be valid UTF-8.");
        }
    }

    [Benchmark(Baseline = true)]
    public bool Utf8IsValid() => Utf8.IsValid(_text);

    [Benchmark]
    public bool ValidatorOneChunk()
    {
        var validator = new Utf8Validator();
        validator.Append(_text);
        return validator.Complete();
    }

    [Benchmark]
    public bool ValidatorChunked()
    {
        var validator = new Utf8Validator();
        ReadOnlySpan<byte> remaining = _text;
        while (remaining.Length > 1000)
        {
            validator.Append(remaining[..1000]);
            remaining = remaining[1000..];
        }

        validator.Append(remaining);
        return validator.Complete();
    }
}
