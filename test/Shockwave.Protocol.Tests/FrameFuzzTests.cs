using Shockwave.Tests.Shared;
using System.Globalization;
using Shockwave.Protocol.Tests.Support;
using Xunit.Abstractions;
using Xunit.Sdk;

namespace Shockwave.Protocol.Tests;

/// <summary>
/// A seeded mutation fuzzer over <see cref="WebSocketFrameReader"/>: valid generated streams with bits flipped,
/// truncated, spliced with another stream, ranges duplicated, deleted or inserted, length fields rewritten. For
/// every input the reader must return (never throw), fail only with 1002, 1007 or 1009, hand back slices of its
/// buffer (consumed + remaining == fed, payloads inside what was consumed), make progress on every unit so it
/// terminates, and reach the same outcome whether the input arrives whole or in random multi-segment pieces
/// (<see cref="ReaderHarness"/> checks the per-call rules).
/// </summary>
/// <remarks>
/// CI runs a bounded number of iterations per role. A long run is one command:
/// <c>SHOCKWAVE_FUZZ_ITERATIONS=2000000 dotnet test test/Shockwave.Protocol.Tests --filter "FullyQualifiedName~FrameFuzz"</c>;
/// add <c>SHOCKWAVE_FUZZ_SEED=&lt;n&gt;</c> to start elsewhere. A failure names the seed of the failing input;
/// <c>SHOCKWAVE_FUZZ_SEED=&lt;that seed&gt; SHOCKWAVE_FUZZ_ITERATIONS=1</c> replays exactly that input.
/// </remarks>
public abstract class FrameFuzzTests
{
    private const int DefaultIterations = 1500;

    private readonly ITestOutputHelper _output;

    protected FrameFuzzTests(ITestOutputHelper output) => _output = output;

    protected abstract WebSocketRole Role { get; }

    protected abstract int DefaultSeed { get; }

    [Fact]
    public void MutatedStreams_FailCleanlyAndTheSameHoweverSplit()
    {
        var iterations = EnvironmentInt("SHOCKWAVE_FUZZ_ITERATIONS") ?? DefaultIterations;
        var baseSeed = EnvironmentInt("SHOCKWAVE_FUZZ_SEED") ?? DefaultSeed;
        var outcomes = new Dictionary<string, int>();
        for (var i = 0; i < iterations; i++)
        {
            var seed = unchecked(baseSeed + i);
            string outcome;
            try
            {
                outcome = RunOne(seed);
            }
            catch (Exception ex)
            {
                var message = $"{Role} reader failed on fuzz seed {seed}; replay with SHOCKWAVE_FUZZ_SEED={seed} SHOCKWAVE_FUZZ_ITERATIONS=1";
                _output.WriteLine(message);
                throw new XunitException($"{message}{Environment.NewLine}{ex}");
            }

            outcomes[outcome] = outcomes.GetValueOrDefault(outcome) + 1;
        }

        _output.WriteLine($"{iterations} inputs from seed {baseSeed}: {string.Join(", ", outcomes.OrderBy(o => o.Key, StringComparer.Ordinal).Select(o => $"{o.Key} {o.Value}"))}");

        // A fuzzer whose mutations never get past the header checks proves little: a real run must reach every
        // close code and also inputs that end cleanly.
        if (iterations >= 500)
        {
            Assert.Contains("1002", outcomes.Keys);
            Assert.Contains("1007", outcomes.Keys);
            Assert.Contains("1009", outcomes.Keys);
            Assert.Contains("no error", outcomes.Keys);
        }
    }

    private string RunOne(int seed)
    {
        var random = new Random(seed);
        var compression = random.Next(2) == 0;
        var stream = FrameStreamGenerator.Generate(random, Role, compression, maxUnits: 6, allowLarge: false, allowInvalidTail: random.Next(2) == 0);
        var bytes = stream.Bytes.ToList();
        var mutations = random.Next(1, 4);
        for (var m = 0; m < mutations; m++)
        {
            Mutate(random, bytes, stream.FrameOffsets, compression);
        }

        // Now and then tight limits, so the 1009 paths see garbage too.
        var options = random.Next(4) != 0
            ? stream.Options
            : stream.Options with
            {
                MaxFramePayloadLength = random.Next(0, 300),
                MaxMessageSize = random.Next(0, 600),
                MaxFragmentsPerMessage = random.Next(1, 5),
            };
        var input = bytes.ToArray();

        var whole = ReaderHarness.Run(Role, options, input);
        var pieces = ReaderHarness.Run(Role, options, Feeds.Random(input, random));

        Assert.Equal(whole.Events, pieces.Events);
        Assert.Equal(whole.Final, pieces.Final);
        if (input.Length <= 512 && random.Next(4) == 0)
        {
            var bytewise = ReaderHarness.Run(Role, options, Feeds.OneByteAtATime(input));
            Assert.Equal(whole.Events, bytewise.Events);
            Assert.Equal(whole.Final, bytewise.Final);
        }

        return whole.Error is { } error ? ((ushort)error.CloseStatus).ToString(CultureInfo.InvariantCulture) : "no error";
    }

    private void Mutate(Random random, List<byte> bytes, IReadOnlyList<int> frames, bool compression)
    {
        if (bytes.Count == 0)
        {
            bytes.AddRange(RandomPayloads.RandomBytes(random, random.Next(1, 16)));
            return;
        }

        switch (random.Next(9))
        {
            case 0:
                // Flip a few bits anywhere.
                for (var flips = random.Next(1, 5); flips > 0; flips--)
                {
                    bytes[random.Next(bytes.Count)] ^= (byte)(1 << random.Next(8));
                }

                break;
            case 1:
                // Flip a bit of a frame's first two bytes: FIN, RSV, opcode, MASK, the 7-bit length.
                var header = Math.Min(frames[random.Next(frames.Count)] + random.Next(2), bytes.Count - 1);
                bytes[header] ^= (byte)(1 << random.Next(8));
                break;
            case 2:
                var keep = random.Next(bytes.Count);
                bytes.RemoveRange(keep, bytes.Count - keep);
                break;
            case 3:
                // Splice: a prefix of this stream, then a suffix of another.
                var other = FrameStreamGenerator.Generate(random, Role, compression, maxUnits: 4, allowLarge: false).Bytes;
                var cut = random.Next(bytes.Count + 1);
                bytes.RemoveRange(cut, bytes.Count - cut);
                bytes.AddRange(other.AsSpan(random.Next(other.Length + 1)));
                break;
            case 4:
                // Duplicate a range right after itself (a repeated header, a doubled fragment).
                var start = random.Next(bytes.Count);
                var length = random.Next(1, Math.Min(64, bytes.Count - start) + 1);
                bytes.InsertRange(start + length, bytes.GetRange(start, length));
                break;
            case 5:
                RewriteLength(random, bytes, frames[random.Next(frames.Count)]);
                break;
            case 6:
                var from = random.Next(bytes.Count);
                bytes.RemoveRange(from, random.Next(1, Math.Min(32, bytes.Count - from) + 1));
                break;
            case 7:
                bytes.InsertRange(random.Next(bytes.Count + 1), RandomPayloads.RandomBytes(random, random.Next(1, 16)));
                break;
            default:
                byte[] interesting = [0x00, 0x7D, 0x7E, 0x7F, 0x80, 0xFF, 0xED, 0xC0, 0xF4, 0x88, 0x08, 0x00];
                bytes[random.Next(bytes.Count)] = interesting[random.Next(interesting.Length)];
                break;
        }
    }

    // Replaces a frame's length field (the 7-bit value and any extended length) with another, in any of the three
    // encodings, minimal or not, now and then with the 64-bit form's top bit set; the MASK bit is kept.
    private static void RewriteLength(Random random, List<byte> bytes, int frame)
    {
        if (frame + 2 > bytes.Count)
        {
            return;
        }

        var length7 = bytes[frame + 1] & 0x7F;
        var oldExtended = length7 == 126 ? 2 : length7 == 127 ? 8 : 0;
        if (frame + 2 + oldExtended > bytes.Count)
        {
            return;
        }

        var mask = bytes[frame + 1] & 0x80;
        List<byte> field;
        switch (random.Next(3))
        {
            case 0:
                field = [(byte)(mask | random.Next(0, 126))];
                break;
            case 1:
                field = [(byte)(mask | 126), .. RandomPayloads.RandomBytes(random, 2)];
                break;
            default:
                var extended = RandomPayloads.RandomBytes(random, 8);
                if (random.Next(3) != 0)
                {
                    // Mostly plausible sizes, so some frames go on to read their (shifted) payload.
                    Array.Clear(extended, 0, random.Next(5, 8));
                }

                field = [(byte)(mask | 127), .. extended];
                break;
        }

        bytes.RemoveRange(frame + 1, 1 + oldExtended);
        bytes.InsertRange(frame + 1, field);
    }

    private static int? EnvironmentInt(string name) =>
        int.TryParse(Environment.GetEnvironmentVariable(name), NumberStyles.Integer, CultureInfo.InvariantCulture, out var value) ? value : null;
}

public sealed class ServerFrameFuzzTests(ITestOutputHelper output) : FrameFuzzTests(output)
{
    protected override WebSocketRole Role => WebSocketRole.Server;

    protected override int DefaultSeed => 6455;
}

public sealed class ClientFrameFuzzTests(ITestOutputHelper output) : FrameFuzzTests(output)
{
    protected override WebSocketRole Role => WebSocketRole.Client;

    protected override int DefaultSeed => 7692;
}
