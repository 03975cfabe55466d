using static Shockwave.Conformance.Tests.CaseKit;

namespace Shockwave.Conformance.Tests;

/// <summary>Category 1: single-frame text and binary messages across every payload length encoding (RFC 6455 section 5.2).</summary>
internal static class Framing
{
    private static readonly int[] Lengths = [0, 125, 126, 127, 128, 65535, 65536];

    public static IEnumerable<ConformanceCase> Cases()
    {
        foreach (var (opcode, sub, kind, fill) in new[] { (Op.Text, 1, "text", (byte)'*'), (Op.Binary, 2, "binary", (byte)0xFE) })
        {
            for (int i = 0; i < Lengths.Length; i++)
            {
                int length = Lengths[i];
                var payload = Fill(length, fill);
                yield return new ConformanceCase
                {
                    Id = $"1.{sub}.{i + 1}",
                    Title = $"{kind} message, payload {length} B",
                    Description = $"Send a {kind} message of {length} bytes in one frame ({Encoding(length)}). R6455-5.2-e: the length " +
                                  $"encoding is the minimal one; R6455-6.2-a/6.2-e: the server parses and unmasks it; the echo server " +
                                  "sends it back byte-exact and answers the client's close 1000 with 1000 (R6455-5.5.1-d).",
                    Body = c => c.SendMessageAsync(opcode, payload),
                    Expect = Expectation.Echo(Echo(opcode, payload)),
                };
            }

            var chopped = Fill(65536, fill);
            yield return new ConformanceCase
            {
                Id = $"1.{sub}.8",
                Title = $"{kind} message, payload 65536 B, written in 997-byte chops",
                Description = $"Send a {kind} message of 65536 bytes in one frame, written to TCP in chops of 997 bytes. " +
                              "R6455-6.2-a: frame parsing must not depend on how the byte stream is segmented; the echo is byte-exact.",
                Body = c => c.SendMessageAsync(opcode, chopped, chop: 997),
                Expect = Expectation.Echo(Echo(opcode, chopped)),
            };
        }
    }

    internal static ServerEvent Echo(int opcode, byte[] payload) => opcode == Op.Text ? Text(payload) : Binary(payload);

    private static string Encoding(int length) =>
        length < 126 ? "7-bit length" : length <= ushort.MaxValue ? "16-bit extended length" : "64-bit extended length";
}
