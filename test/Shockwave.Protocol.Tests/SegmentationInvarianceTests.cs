using Shockwave.Protocol.Tests.Support;

namespace Shockwave.Protocol.Tests;

/// <summary>
/// R6455-6.2-a (parse incoming bytes as frames, whatever the TCP reads look like) and the note under section 5.4
/// (never rely on fragment or read boundaries): for seeded random frame streams, the reader produces exactly the
/// messages, control frames and final error the generator modelled, and exactly the same outcome however the
/// bytes are cut: whole, at every single split point, one byte at a time, and in random multi-segment pieces.
/// Each feeding gets its own copy of the bytes, because the reader unmasks in place.
/// </summary>
public abstract class SegmentationInvarianceTests
{
    protected abstract WebSocketRole Role { get; }

    // The base seed per role; a failure message names the stream's own seed.
    protected abstract int Seed { get; }

    [Fact]
    public void GeneratedStreams_ReadWhole_MatchTheModel()
    {
        foreach (var (seed, stream) in Streams(count: 200, maxUnits: 10, allowLarge: true))
        {
            var whole = ReaderHarness.Run(Role, stream.Options, stream.Bytes);

            Assert.True(stream.Expected.SequenceEqual(whole.Events), $"seed {seed}: expected\n{string.Join('\n', stream.Expected)}\nactual\n{string.Join('\n', whole.Events)}");
            if (stream.Expected[^1].Kind != "Error")
            {
                // A valid stream is consumed to its last byte, with no message left open.
                Assert.Equal("NeedMoreData inMessage=False partial=0: buffered=0", whole.Final);
            }
        }
    }

    [Fact]
    public void SmallStreams_SplitAtEveryPoint_SameAsWhole()
    {
        var checkedStreams = 0;
        foreach (var (seed, stream) in Streams(count: 40, maxUnits: 4, allowLarge: false))
        {
            if (stream.Bytes.Length > 400)
            {
                continue;
            }

            checkedStreams++;
            var whole = ReaderHarness.Run(Role, stream.Options, stream.Bytes);
            for (var split = 0; split <= stream.Bytes.Length; split++)
            {
                AssertSame(whole, ReaderHarness.Run(Role, stream.Options, Feeds.SplitAt(stream.Bytes, split)), $"seed {seed}, split at {split}");
            }
        }

        Assert.True(checkedStreams >= 20, $"only {checkedStreams} streams were small enough");
    }

    [Fact]
    public void GeneratedStreams_OneByteAtATime_SameAsWhole()
    {
        // Without 64 KiB frames, which cost a feed per byte; random pieces and the reader tests cover those.
        foreach (var (seed, stream) in Streams(count: 40, maxUnits: 10, allowLarge: false))
        {
            var whole = ReaderHarness.Run(Role, stream.Options, stream.Bytes);

            AssertSame(whole, ReaderHarness.Run(Role, stream.Options, Feeds.OneByteAtATime(stream.Bytes)), $"seed {seed}, one byte at a time");
        }
    }

    [Fact]
    public void GeneratedStreams_RandomMultiSegmentPieces_SameAsWhole()
    {
        foreach (var (seed, stream) in Streams(count: 120, maxUnits: 10, allowLarge: true))
        {
            var whole = ReaderHarness.Run(Role, stream.Options, stream.Bytes);
            var random = new Random(seed);
            for (var trial = 0; trial < 4; trial++)
            {
                AssertSame(whole, ReaderHarness.Run(Role, stream.Options, Feeds.Random(stream.Bytes, random)), $"seed {seed}, trial {trial}");
            }
        }
    }

    // Unfinished input is not an error: a stream cut anywhere leaves the reader waiting, with the same complete
    // messages, partial message and buffered bytes whatever the pieces were.
    [Fact]
    public void TruncatedStreams_WaitForMoreData_SameAsWhole()
    {
        foreach (var (seed, stream) in Streams(count: 100, maxUnits: 6, allowLarge: false, allowInvalidTail: false))
        {
            var random = new Random(seed);
            var cut = stream.Bytes[..random.Next(stream.Bytes.Length + 1)];
            var whole = ReaderHarness.Run(Role, stream.Options, cut);

            Assert.Null(whole.Error);
            Assert.True(whole.Events.SequenceEqual(stream.Expected.Take(whole.Events.Count)), $"seed {seed}: not a prefix of the model");
            AssertSame(whole, ReaderHarness.Run(Role, stream.Options, Feeds.Random(cut, random)), $"seed {seed}, cut at {cut.Length}");
            AssertSame(whole, ReaderHarness.Run(Role, stream.Options, Feeds.OneByteAtATime(cut)), $"seed {seed}, cut at {cut.Length}, one byte at a time");
        }
    }

    private IEnumerable<(int Seed, GeneratedStream Stream)> Streams(int count, int maxUnits, bool allowLarge, bool allowInvalidTail = true)
    {
        for (var i = 0; i < count; i++)
        {
            var seed = Seed + i;
            var random = new Random(seed);
            yield return (seed, FrameStreamGenerator.Generate(random, Role, compression: i % 2 == 1, maxUnits, allowLarge, allowInvalidTail));
        }
    }

    private static void AssertSame(ReaderHarness expected, ReaderHarness actual, string context)
    {
        Assert.True(expected.Events.SequenceEqual(actual.Events), $"{context}: expected\n{string.Join('\n', expected.Events)}\nactual\n{string.Join('\n', actual.Events)}");
        Assert.True(expected.Final == actual.Final, $"{context}: expected final state {expected.Final}, actual {actual.Final}");
    }
}

public sealed class ServerSegmentationInvarianceTests : SegmentationInvarianceTests
{
    protected override WebSocketRole Role => WebSocketRole.Server;

    protected override int Seed => 10_000;
}

public sealed class ClientSegmentationInvarianceTests : SegmentationInvarianceTests
{
    protected override WebSocketRole Role => WebSocketRole.Client;

    protected override int Seed => 20_000;
}
