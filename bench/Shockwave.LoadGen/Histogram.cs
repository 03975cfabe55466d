using System.Numerics;

namespace Shockwave.LoadGen;

/// <summary>Log-linear latency histogram in nanoseconds: 32 sub-buckets per power of two (at most about 3% error).</summary>
internal sealed class Histogram
{
    private const int SubBits = 5;
    private const int Sub = 1 << SubBits;
    private readonly long[] _counts = new long[Sub * 2 + (64 - SubBits) * Sub];

    public long Count { get; private set; }

    public void Record(long ns)
    {
        if (ns < 0)
        {
            ns = 0;
        }
        _counts[Index(ns)]++;
        Count++;
    }

    private static int Index(long v)
    {
        if (v < Sub * 2)
        {
            return (int)v;
        }
        int msb = 63 - BitOperations.LeadingZeroCount((ulong)v);
        int shift = msb - SubBits;
        return (Sub * 2) + ((shift - 1) * Sub) + (int)((v >> shift) - Sub);
    }

    private static long Upper(int index)
    {
        if (index < Sub * 2)
        {
            return index;
        }
        int shift = ((index - (Sub * 2)) / Sub) + 1;
        long mantissa = ((index - (Sub * 2)) % Sub) + Sub;
        return ((mantissa + 1) << shift) - 1;
    }

    public void Add(Histogram other)
    {
        for (int i = 0; i < _counts.Length; i++)
        {
            _counts[i] += other._counts[i];
        }
        Count += other.Count;
    }

    public double PercentileMicros(double p)
    {
        if (Count == 0)
        {
            return double.NaN;
        }
        long rank = Math.Max(1, (long)Math.Ceiling(p / 100.0 * Count));
        long seen = 0;
        for (int i = 0; i < _counts.Length; i++)
        {
            seen += _counts[i];
            if (seen >= rank)
            {
                return Upper(i) / 1000.0;
            }
        }
        return double.NaN;
    }
}
