using static Shockwave.Conformance.Tests.CaseKit;

namespace Shockwave.Conformance.Tests;

/// <summary>
/// Category 9: large messages and many messages (RFC 6455 section 10.4: limits are the implementation's; the sample's
/// are 64 MiB frames and messages and a million fragments, so every case here must be echoed). Timings are recorded in
/// the report as information, not judged.
/// </summary>
internal static class LimitsCases
{
    private const int KiB = 1024;
    private const int MiB = 1024 * 1024;

    public static IEnumerable<ConformanceCase> Cases()
    {
        foreach (var (opcode, kind, sub) in new[] { (Op.Text, "text", 0), (Op.Binary, "binary", 1) })
        {
            byte fill = opcode == Op.Text ? (byte)'*' : (byte)0xFE;
            int n = 1;
            foreach (int size in new[] { 64 * KiB, 256 * KiB, MiB, 4 * MiB, 8 * MiB, 16 * MiB })
            {
                yield return Large($"9.{1 + sub}.{n++}", $"{kind} message of {Size(size)} in one frame", opcode, Fill(size, fill), 0, 0);
            }

            n = 1;
            foreach (int fragment in new[] { 64, 256, KiB, 4 * KiB, 16 * KiB, 64 * KiB, 256 * KiB, MiB, 4 * MiB })
            {
                yield return Large($"9.{3 + sub}.{n++}", $"{kind} message of 4 MiB in {Size(fragment)} fragments", opcode, Fill(4 * MiB, fill), fragment, 0);
            }

            n = 1;
            foreach (int chop in new[] { 64, 128, 256, 512, KiB, 2 * KiB })
            {
                yield return Large($"9.{5 + sub}.{n++}", $"{kind} message of 1 MiB in one frame, written in {chop}-byte chops", opcode, Fill(MiB, fill), 0, chop);
            }

            n = 1;
            foreach (int size in new[] { 0, 16, 64, 256, KiB, 4 * KiB })
            {
                var payload = Fill(size, fill);
                yield return new ConformanceCase
                {
                    Id = $"9.{7 + sub}.{n++}",
                    Title = $"1000 {kind} messages of {Size(size)}, one at a time",
                    Description = $"Send 1000 {kind} messages of {size} bytes, each after the echo of the previous one, to measure the round trip. " +
                                  "Every echo is byte-exact (R6455-6.2-a); the total time is recorded as information.",
                    Body = async c =>
                    {
                        for (int i = 0; i < 1000 && await c.RoundTripAsync(opcode, payload); i++)
                        {
                        }
                    },
                    Expect = Expectation.Echo(),
                    Budget = TimeSpan.FromSeconds(60),
                };
            }
        }
    }

    private static ConformanceCase Large(string id, string title, int opcode, byte[] payload, int fragmentSize, int chop) => new()
    {
        Id = id,
        Title = title,
        Description = $"Send one {title}. R6455-10.4-a: the implementation enforces its own limits; the sample's (64 MiB frames and messages, " +
                      "2^20 fragments) admit this message, so it is echoed byte-exact (R6455-5.4-e for fragments, R6455-6.2-a for the " +
                      "segmentation). The time is recorded as information.",
        Body = async c =>
        {
            await c.SendMessageAsync(opcode, payload, fragmentSize, chop: chop);
            var echo = await c.NextEventAsync(TimeSpan.FromSeconds(50));
            var expected = Framing.Echo(opcode, payload);
            if (echo is null || !echo.SameAs(expected))
            {
                c.Observations.Violation($"expected the echo {expected}, got {echo?.ToString() ?? "nothing"} ({c.Observations.CloseSummary()})");
            }
        },
        Expect = Expectation.Echo(),
        Budget = TimeSpan.FromSeconds(60),
    };

    private static string Size(int bytes) => bytes >= MiB ? $"{bytes / MiB} MiB" : bytes >= KiB ? $"{bytes / KiB} KiB" : $"{bytes} B";
}
