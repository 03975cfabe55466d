using System.Buffers;

namespace Shockwave.Protocol.Tests.Handshake;

/// <summary>Builds multi-segment sequences, the way a pipe hands over bytes that arrived in several reads.</summary>
internal static class SegmentedSequence
{
    /// <summary>A sequence over <paramref name="data"/> with a new segment starting at each of <paramref name="cuts"/> (ascending).</summary>
    public static ReadOnlySequence<byte> Create(ReadOnlyMemory<byte> data, params int[] cuts)
    {
        if (cuts.Length == 0)
        {
            return new ReadOnlySequence<byte>(data);
        }

        var first = new Segment(data[..cuts[0]], 0);
        var last = first;
        for (int i = 0; i < cuts.Length; i++)
        {
            int end = i + 1 < cuts.Length ? cuts[i + 1] : data.Length;
            last = last.Append(data[cuts[i]..end]);
        }

        return new ReadOnlySequence<byte>(first, 0, last, last.Memory.Length);
    }

    /// <summary>One segment per byte.</summary>
    public static ReadOnlySequence<byte> OneBytePerSegment(ReadOnlyMemory<byte> data) =>
        data.Length < 2 ? new ReadOnlySequence<byte>(data) : Create(data, Enumerable.Range(1, data.Length - 1).ToArray());

    private sealed class Segment : ReadOnlySequenceSegment<byte>
    {
        public Segment(ReadOnlyMemory<byte> memory, long runningIndex)
        {
            Memory = memory;
            RunningIndex = runningIndex;
        }

        public Segment Append(ReadOnlyMemory<byte> memory)
        {
            var next = new Segment(memory, RunningIndex + Memory.Length);
            Next = next;
            return next;
        }
    }
}
