using Shockwave.Tests.Shared;
using System.Buffers.Binary;
using System.Collections.Concurrent;
using System.Text;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.Extensions.Logging;
using Shockwave.Conformance.Tests.Fuzzing;
using Shockwave.Testing;
using Xunit.Abstractions;

namespace Shockwave.Conformance.Tests;

/// <summary>
/// Segmentation in-process (issue "Beyond Autobahn"): seeded frame streams go to samples/Echo through the raw test
/// connection's duplex pipe split at every offset k (bytes [0,k), then [k,n)), and what comes back (echoes, pongs, the close code)
/// must be the same as when the stream is sent whole, and what <see cref="EchoModel"/> says.
/// </summary>
/// <remarks>
/// Each stream is a valid body (messages whole and fragmented, pings and pongs between fragments) and a terminal frame: a
/// close, or one of each kind of protocol error. The echoes of the body are awaited before the terminal goes out: a server
/// may drop the echo of a message still in flight when it closes (RFC 6455 section 5.5.1), which would make the outcome
/// depend on timing rather than on segmentation. The split still falls at every offset of the whole stream.
/// </remarks>
[Collection(nameof(SerialCollection))]
public sealed class InProcessSegmentationTests(ITestOutputHelper output)
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(10);

    /// <summary>The terminal frames: a name, its expected close code (null: an empty close), and how to write it.</summary>
    private static readonly (string Name, ushort? Code, Action<List<byte>, Random> Write)[] Terminals =
    [
        ("close 1000", 1000, (b, r) => FuzzStreams.AddFrame(b, r, 8, [0x03, 0xE8, .. "bye"u8])),
        ("close 4321", 4321, (b, r) => FuzzStreams.AddFrame(b, r, 8, [0x10, 0xE1])),
        ("empty close", null, (b, r) => FuzzStreams.AddFrame(b, r, 8, [])),
        ("invalid UTF-8 in a final text frame", 1007, (b, r) => FuzzStreams.AddFrame(b, r, 1, [.. "abc"u8, 0xED, 0xA0, 0x80, .. "def"u8])),
        ("invalid UTF-8 in a first fragment", 1007, (b, r) => FuzzStreams.AddFrame(b, r, 1, [.. "κόσμε"u8, 0xFF, .. "xyz"u8], fin: false)),
        ("text ending inside a code point", 1007, (b, r) =>
        {
            FuzzStreams.AddFrame(b, r, 1, "ab"u8, fin: false);
            FuzzStreams.AddFrame(b, r, 0, [0xE2, 0x82], fin: true);
        }),
        ("ping of 126 bytes", 1002, (b, r) => FuzzStreams.AddFrame(b, r, 9, new byte[126])),
        ("fragmented ping", 1002, (b, r) => FuzzStreams.AddFrame(b, r, 9, "p"u8, fin: false)),
        ("RSV1 without an extension", 1002, (b, r) => FuzzStreams.AddFrame(b, r, 2, "x"u8, rsv: 4)),
        ("RSV2 and RSV3", 1002, (b, r) => FuzzStreams.AddFrame(b, r, 1, "x"u8, rsv: 3)),
        ("reserved data opcode", 1002, (b, r) => FuzzStreams.AddFrame(b, r, 3, "x"u8)),
        ("reserved control opcode", 1002, (b, r) => FuzzStreams.AddFrame(b, r, 0xB, "x"u8)),
        ("unmasked frame", 1002, (b, r) => FuzzStreams.AddFrame(b, r, 1, "hello"u8, mask: false)),
        ("64-bit length with the top bit set", 1002, (b, r) => AddHeader64(b, r, 2, 0x8000_0000_0000_0010UL)),
        ("frame over the 64 MiB limit", 1009, (b, r) => AddHeader64(b, r, 2, (64UL << 20) + 1)),
        ("close with an invalid code", 1002, (b, r) => FuzzStreams.AddFrame(b, r, 8, [0x03, 0xED])),
        ("close with an invalid reason", 1007, (b, r) => FuzzStreams.AddFrame(b, r, 8, [0x03, 0xE8, 0xC0, 0xAF])),
        ("close with a 1-byte body", 1002, (b, r) => FuzzStreams.AddFrame(b, r, 8, [0x03])),
        ("continuation without a message", 1002, (b, r) => FuzzStreams.AddFrame(b, r, 0, "c"u8)),
        ("new message inside a fragmented one", 1002, (b, r) =>
        {
            FuzzStreams.AddFrame(b, r, 2, "first"u8, fin: false);
            FuzzStreams.AddFrame(b, r, 9, "between"u8);
            FuzzStreams.AddFrame(b, r, 1, "second"u8);
        }),
    ];

    public static TheoryData<int> TerminalIndexes()
    {
        var data = new TheoryData<int>();
        for (int i = 0; i < Terminals.Length; i++)
        {
            data.Add(i);
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(TerminalIndexes))]
    public async Task EverySplit_GivesTheSameOutcomeAsTheWholeStream(int terminal)
    {
        var (name, code, write) = Terminals[terminal];
        await using var factory = new WebApplicationFactory<Program>()
            .WithWebHostBuilder(builder => builder.ConfigureLogging(logging => logging.SetMinimumLevel(LogLevel.Error)));
        var client = factory.CreateWibeSocketClient();
        client.AutoPong = false;
        client.Timeout = Bound;

        // Three bodies per terminal: empty, short, and fragmented with control frames between the fragments.
        int splits = 0;
        for (int variant = 0; variant < 3; variant++)
        {
            var random = new Random(terminal * 100 + variant);
            var body = new List<byte>();
            if (variant == 1)
            {
                FuzzStreams.AddFrame(body, random, 1, "hello ✓"u8);
                FuzzStreams.AddFrame(body, random, 9, "ping"u8);
                FuzzStreams.AddFrame(body, random, 2, RandomPayloads.RandomBytes(random, 130));
            }
            else if (variant == 2)
            {
                byte[] text = RandomPayloads.RandomUtf8(random, 60, exact: true);
                FuzzStreams.AddFrame(body, random, 1, text.AsSpan(0, 7), fin: false);
                FuzzStreams.AddFrame(body, random, 9, "p1"u8);
                FuzzStreams.AddFrame(body, random, 0, text.AsSpan(7, 0), fin: false);
                FuzzStreams.AddFrame(body, random, 0xA, "unsolicited"u8);
                FuzzStreams.AddFrame(body, random, 0, text.AsSpan(7, 30), fin: false);
                FuzzStreams.AddFrame(body, random, 9, "p2"u8);
                FuzzStreams.AddFrame(body, random, 0, text.AsSpan(37), fin: true);
                FuzzStreams.AddFrame(body, random, 2, [], fin: false);
                FuzzStreams.AddFrame(body, random, 0, RandomPayloads.RandomBytes(random, 20), fin: true);
            }

            var whole = new List<byte>(body);
            write(whole, random);
            byte[] stream = [.. whole];

            // The model must agree with the case's own expectation, and say what the echoes are.
            var expected = EchoModel.Run(stream);
            Assert.True(EchoModel.Run(stream.AsSpan(0, body.Count)).End == ModelEnd.Open, $"{name}: the body is not valid on its own");
            Assert.True(expected.End is ModelEnd.Failed or ModelEnd.ClientClosed, $"{name}: the model says {expected}");
            Assert.True(expected.Code == code, $"{name}: the model says {expected}, the case {code}");
            string want = Describe(expected.Messages.Select(m => (m.Opcode == 1 ? "text" : "binary", m.Payload)), expected.Pings, code);

            string reference = await RunAsync(client, stream, body.Count, stream.Length);
            Assert.True(want == reference, $"{name}, variant {variant}, whole: {reference}\nexpected {want}");
            var failures = new ConcurrentBag<string>();
            await Parallel.ForEachAsync(
                Enumerable.Range(0, stream.Length + 1),
                new ParallelOptions { MaxDegreeOfParallelism = 8 },
                async (k, _) =>
                {
                    string seen = await RunAsync(client, stream, body.Count, k);
                    if (seen != reference)
                    {
                        failures.Add($"split at {k} of {stream.Length}: {seen}");
                    }
                });
            Assert.True(failures.IsEmpty, $"{name}, variant {variant}: whole {reference}\n{string.Join("\n", failures.Take(5))}");
            splits += stream.Length + 1;
        }

        output.WriteLine($"{name}: {splits} splits, all as the whole stream");
    }

    /// <summary>
    /// Sends the stream in two writes cut at <paramref name="k"/>; the body's echoes are awaited before the terminal frame
    /// goes out (the cut may fall in either part). Returns the outcome as a string.
    /// </summary>
    private static async Task<string> RunAsync(WibeSocketTestClient client, byte[] stream, int bodyLength, int k)
    {
        var expected = EchoModel.Run(stream.AsSpan(0, bodyLength));
        await using var connection = await client.ConnectRawAsync("/echo").WaitAsync(Bound);
        var messages = new List<(string, byte[])>();
        var pongs = new List<byte[]>();
        var body = stream.AsMemory(0, bodyLength);
        var terminal = stream.AsMemory(bodyLength);
        if (k <= bodyLength)
        {
            await connection.SendRawAsync(body[..k]).WaitAsync(Bound);
            await connection.SendRawAsync(body[k..]).WaitAsync(Bound);
        }
        else
        {
            await connection.SendRawAsync(body).WaitAsync(Bound);
        }

        while (messages.Count < expected.Messages.Count || pongs.Count < expected.Pings.Count)
        {
            if (!await ReceiveOneAsync(connection, messages, pongs))
            {
                return $"closed during the body: {Describe(messages, pongs, connection.ReceivedClose is { } c ? CodeOf(c) : null)}";
            }
        }

        if (k <= bodyLength)
        {
            await connection.SendRawAsync(terminal).WaitAsync(Bound);
        }
        else
        {
            await connection.SendRawAsync(terminal[..(k - bodyLength)]).WaitAsync(Bound);
            await connection.SendRawAsync(terminal[(k - bodyLength)..]).WaitAsync(Bound);
        }

        while (await ReceiveOneAsync(connection, messages, pongs))
        {
        }

        var close = connection.ReceivedClose;
        if (close is null)
        {
            return $"no close frame: {Describe(messages, pongs, null)}";
        }

        return Describe(messages, pongs, CodeOf(close));
    }

    /// <summary>Receives one message; false once the close frame (or the end of the stream) came instead.</summary>
    private static async Task<bool> ReceiveOneAsync(WibeSocketRawTestConnection connection, List<(string, byte[])> messages, List<byte[]> pongs)
    {
        WibeSocketTestMessage message;
        try
        {
            message = await connection.ReceiveAsync().WaitAsync(Bound);
        }
        catch (EndOfStreamException)
        {
            return false;
        }

        switch (message.Type)
        {
            case WibeSocketMessageType.Text or WibeSocketMessageType.Binary:
                messages.Add((message.Type == WibeSocketMessageType.Text ? "text" : "binary", message.Payload.ToArray()));
                return true;
            case WibeSocketMessageType.Pong:
                pongs.Add(message.Payload.ToArray());
                return true;
            case WibeSocketMessageType.Close:
                return false;
            default:
                messages.Add(($"unexpected {message.Type}", message.Payload.ToArray()));
                return true;
        }
    }

    private static string Describe(IEnumerable<(string Kind, byte[] Payload)> messages, IEnumerable<byte[]> pongs, ushort? code) =>
        $"echoes [{string.Join(", ", messages.Select(m => $"{m.Kind} {Convert.ToHexString(m.Payload)}"))}], " +
        $"pongs [{string.Join(", ", pongs.Select(Convert.ToHexString))}], close {code?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "empty"}";

    // The code on the wire; the client reports an empty close as 1005, which never appears on the wire.
    private static ushort? CodeOf(WibeSocketTestMessage close) =>
        close.Payload.Length >= 2 ? BinaryPrimitives.ReadUInt16BigEndian(close.Payload.Span) : null;

    private static void AddHeader64(List<byte> bytes, Random random, int opcode, ulong length)
    {
        bytes.Add((byte)(0x80 | opcode));
        bytes.Add(0x80 | 127);
        var field = new byte[8];
        BinaryPrimitives.WriteUInt64BigEndian(field, length);
        bytes.AddRange(field);
        bytes.AddRange(RandomPayloads.RandomBytes(random, 4));
        bytes.AddRange(RandomPayloads.RandomBytes(random, 8));
    }
}
