using System.Text;
using static Shockwave.Conformance.Tests.CaseKit;

namespace Shockwave.Conformance.Tests;

/// <summary>
/// Category 10 (auto-fragmentation) and categories 12 and 13: permessage-deflate against <c>/echo-deflate</c>
/// (RFC 7692). Autobahn's data files cannot be fetched here, so equivalent data is generated from fixed seeds: German
/// prose, a grayscale bitmap, a PDF-like mix of text and compressed streams, JSON and HTML, each 256 KiB.
/// </summary>
internal static class CompressionCases
{
    // Autobahn's MSG_SIZES: (payload size, auto-fragment size). Autobahn sends 1000 messages per case; here the count is
    // capped at 1 MiB of payload per case (at least 8 messages), which keeps every window and takeover path exercised.
    private static readonly (int Size, int Fragment)[] Sizes =
    [
        (16, 0), (64, 0), (256, 0), (1024, 0), (4096, 0), (8192, 0), (16384, 0), (32768, 0), (65536, 0), (131072, 0),
        (8192, 256), (16384, 256), (32768, 256), (65536, 256), (131072, 256), (131072, 1024), (131072, 4096), (131072, 32768),
    ];

    private const string DefaultOffer = "permessage-deflate; client_max_window_bits";

    public static IEnumerable<ConformanceCase> Cases()
    {
        var text = Fill(65536, (byte)'*');
        yield return new ConformanceCase
        {
            Id = "10.1.1",
            Title = "text message of 65536 B sent in 1300-byte fragments",
            Description = "Send a 65536-byte text message auto-fragmented into 1300-byte frames. R6455-5.4-e: the server receives " +
                          "fragmented messages; how it fragments its echo is its own choice (section 5.4), only the message is judged.",
            Body = c => c.SendMessageAsync(Op.Text, text, fragmentSize: 1300),
            Expect = Expectation.Echo(Text(text)),
        };

        var sets = DataSets.All;
        for (int j = 0; j < sets.Count; j++)
        {
            for (int i = 0; i < Sizes.Length; i++)
            {
                yield return Deflate($"12.{j + 1}.{i + 1}", sets[j], Sizes[i], DefaultOffer,
                    "the default offer (context takeover both ways, R7692-7.2.2-b)");
            }
        }

        string[] offers =
        [
            DefaultOffer,
            DefaultOffer + "; server_no_context_takeover",
            DefaultOffer + "; server_max_window_bits=8",
            DefaultOffer + "; server_max_window_bits=15",
            DefaultOffer + "; server_no_context_takeover; server_max_window_bits=8",
            DefaultOffer + "; server_no_context_takeover; server_max_window_bits=15",
            $"{DefaultOffer}; server_no_context_takeover; server_max_window_bits=8, {DefaultOffer}; server_no_context_takeover, {DefaultOffer}",
        ];
        var json = sets.Single(s => s.Name == "json");
        for (int j = 0; j < offers.Length; j++)
        {
            for (int i = 0; i < Sizes.Length; i++)
            {
                yield return Deflate($"13.{j + 1}.{i + 1}", json, Sizes[i], offers[j], $"the offer '{offers[j]}'");
            }
        }

        // Beyond Autobahn: the remaining parameter combinations of RFC 7692 section 7.1, each at four of Autobahn's sizes.
        var more = new List<string>
        {
            "permessage-deflate",
            "permessage-deflate; client_no_context_takeover",
            "permessage-deflate; client_no_context_takeover; server_no_context_takeover",
            "permessage-deflate; client_max_window_bits; client_no_context_takeover; server_no_context_takeover; server_max_window_bits=8",
        };
        more.AddRange(Enumerable.Range(9, 6).Select(b => $"permessage-deflate; server_max_window_bits={b}"));
        more.AddRange(Enumerable.Range(8, 8).Select(b => $"permessage-deflate; client_max_window_bits={b}"));
        int[] picks = [2, 5, 8, 17];
        for (int j = 0; j < more.Count; j++)
        {
            foreach (int pick in picks)
            {
                yield return Deflate($"13.{offers.Length + j + 1}.{pick}", json, Sizes[pick - 1], more[j], $"the offer '{more[j]}'");
            }
        }
    }

    private static ConformanceCase Deflate(string id, DataSet data, (int Size, int Fragment) size, string offer, string offerText)
    {
        int count = Math.Clamp(1024 * 1024 / size.Size, 8, 1000);
        int opcode = data.Binary ? Op.Binary : Op.Text;
        string fragments = size.Fragment > 0 ? $", auto-fragmented to {size.Fragment} B frames" : "";
        return new ConformanceCase
        {
            Id = id,
            Title = $"{count} deflated {data.Description} messages of {size.Size} B{fragments}, {offer}",
            Description = $"On /echo-deflate with {offerText}: send {count} compressed messages of {size.Size} bytes cut from {data.Description} " +
                          $"(sliding through the data){fragments}, each after the previous echo. R7692-7.2.1: the client compresses " +
                          "with a sync flush and strips 00 00 FF FF, RSV1 on the first frame only (R7692-6.1); R7692-7.2.2-b/e: the server " +
                          "inflates keeping (or, if agreed, resetting) the window; every echo must inflate, with the window rules the " +
                          "response agreed (R7692-7.2.1-e/g checked by the client's decoder), to the bytes sent. The 101 is checked " +
                          "against the offer (R7692-7.1.1.1, 7.1.2.1-b, 7.1.2.2-b/c).",
            Path = "/echo-deflate",
            Extensions = offer,
            Body = async c =>
            {
                int offset = 0;
                for (int i = 0; i < count; i++)
                {
                    var message = data.Slice(ref offset, size.Size);
                    if (!await c.RoundTripAsync(opcode, message, size.Fragment, compress: true))
                    {
                        return;
                    }
                }
            },
            Expect = Expectation.Echo(),
            Budget = TimeSpan.FromSeconds(60),
        };
    }

    /// <summary>One generated data set, read as Autobahn reads its files: consecutive slices, wrapping at the end.</summary>
    internal sealed record DataSet(string Name, string Description, bool Binary, byte[] Bytes)
    {
        public byte[] Slice(ref int offset, int length)
        {
            var slice = new byte[length];
            for (int copied = 0; copied < length;)
            {
                int n = Math.Min(length - copied, Bytes.Length - offset);
                Bytes.AsSpan(offset, n).CopyTo(slice.AsSpan(copied));
                copied += n;
                offset = (offset + n) % Bytes.Length;
            }

            // A text slice must stay valid UTF-8: the generated text sets are ASCII-only at slice level by construction.
            return slice;
        }
    }

    internal static class DataSets
    {
        private const int Length = 256 * 1024;

        public static IReadOnlyList<DataSet> All { get; } =
        [
            new("faust", "German prose (sent as binary)", true, Prose(1)),
            new("bitmap", "512x512 grayscale bitmap", true, Bitmap(2)),
            new("pdf", "PDF-like mix of text and compressed streams", true, Pdf(3)),
            new("json", "JSON records", false, Json(4)),
            new("html", "HTML page", false, Html(5)),
        ];

        private static byte[] Prose(int seed)
        {
            // German words with umlauts and ß: sent as binary, as Autobahn sends Faust, so a slice may cut a code point.
            string[] words = ["Habe", "nun", "ach", "Philosophie", "Juristerei", "und", "Medizin", "leider", "auch", "Theologie",
                "durchaus", "studiert", "mit", "heißem", "Bemühn", "Da", "steh", "ich", "armer", "Tor", "bin", "so", "klug", "als",
                "wie", "zuvor", "Schüler", "Geist", "Welt", "Mächte", "Grün", "Lebens", "goldner", "Baum", "Mephistopheles", "Faust"];
            var random = new Random(seed);
            var sb = new StringBuilder();
            while (sb.Length < Length)
            {
                sb.Append(words[random.Next(words.Length)]);
                sb.Append(random.Next(12) switch { 0 => ",\n", 1 => ". ", _ => " " });
            }

            return Encoding.UTF8.GetBytes(sb.ToString())[..Length];
        }

        private static byte[] Bitmap(int seed)
        {
            var random = new Random(seed);
            var bytes = new byte[Length];
            "BM"u8.CopyTo(bytes);
            for (int i = 1078; i < Length; i++)
            {
                int x = (i - 1078) % 512, y = (i - 1078) / 512;
                bytes[i] = (byte)(128 + (int)(60 * Math.Sin(x / 23.0) * Math.Cos(y / 17.0)) + random.Next(-6, 7));
            }

            return bytes;
        }

        private static byte[] Pdf(int seed)
        {
            var random = new Random(seed);
            using var stream = new MemoryStream();
            int obj = 1;
            stream.Write("%PDF-1.4\n"u8);
            while (stream.Length < Length)
            {
                var header = Encoding.ASCII.GetBytes($"{obj++} 0 obj\n<< /Length {random.Next(200, 3000)} /Filter /FlateDecode >>\nstream\n");
                stream.Write(header);
                var noise = new byte[random.Next(200, 3000)];
                random.NextBytes(noise);
                stream.Write(noise);
                stream.Write("\nendstream\nendobj\n"u8);
            }

            return stream.ToArray()[..Length];
        }

        private static byte[] Json(int seed)
        {
            var random = new Random(seed);
            var sb = new StringBuilder("[");
            for (int i = 0; sb.Length < Length; i++)
            {
                sb.Append($"{{\"id\":{i},\"name\":\"user{random.Next(100000)}\",\"active\":{(random.Next(2) == 0 ? "true" : "false")}," +
                          $"\"score\":{random.NextDouble():F4},\"tags\":[\"alpha\",\"beta\",\"gamma{random.Next(50)}\"],\"city\":\"Zürich\"}},\n");
            }

            return Ascii(sb, Length);
        }

        private static byte[] Html(int seed)
        {
            var random = new Random(seed);
            var sb = new StringBuilder("<!DOCTYPE html><html><head><title>Data</title></head><body>\n");
            for (int i = 0; sb.Length < Length; i++)
            {
                sb.Append($"<div class=\"row r{i % 7}\"><a href=\"/item/{random.Next(10000)}\">Item {i}</a><span>{random.Next()}</span></div>\n");
            }

            return Ascii(sb, Length);
        }

        // Text sets are ASCII so that any slice (Autobahn slices at arbitrary offsets) is valid UTF-8.
        private static byte[] Ascii(StringBuilder sb, int length) =>
            Encoding.ASCII.GetBytes(sb.ToString().Replace("ü", "ue", StringComparison.Ordinal))[..length];
    }
}
