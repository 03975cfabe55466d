using System.Globalization;
using System.Text;
using System.Text.Json;

namespace Shockwave.LoadGen;

/// <summary>
/// Medians per scenario and server from a results file (one JSON line per run, labelled "scenario|server"), and the
/// ratio of each Shockwave server to the stock one. Throughput ratios are Shockwave/stock (higher is better); memory
/// ratios too (lower is better). Broadcast rows give deliveries/s (the ratio's figure) and fully delivered messages/s,
/// the fan-out latency (send to the last receiver) and the per-delivery one, and server bytes per delivery.
/// </summary>
internal static class Summary
{
    public static int Print(string file)
    {
        var runs = new List<(string Scenario, string Server, JsonElement Result)>();
        foreach (string line in File.ReadLines(file))
        {
            if (!line.StartsWith('{'))
            {
                continue;
            }
            var root = JsonDocument.Parse(line).RootElement;
            string[] label = root.GetProperty("label").GetString()!.Split('|');
            runs.Add((label[0], label.Length > 1 ? label[1] : "?", root));
        }

        var sb = new StringBuilder();
        sb.AppendLine("| scenario | server | runs | result (median) | Shockwave/stock | p50 / p99 latency µs | server B/msg | server CPU (cores) | client CPU (cores) | client-bound runs |");
        sb.AppendLine("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|");
        foreach (var scenario in runs.Select(r => r.Scenario).Distinct())
        {
            var byServer = runs.Where(r => r.Scenario == scenario).GroupBy(r => r.Server).ToList();
            string mode = byServer[0].First().Result.GetProperty("mode").GetString()!;
            string primary = mode switch
            {
                "idle" => "rssKiBPerConn",
                "connect" => "connectsPerSec",
                "broadcast" => "deliveriesPerSec",
                _ => byServer[0].First().Result.GetProperty("size").GetInt32() >= 16 * 1024 ? "mbPerSec" : "msgsPerSec",
            };
            string unit = primary switch
            {
                "rssKiBPerConn" => "KiB/conn RSS",
                "connectsPerSec" => "connects/s",
                "deliveriesPerSec" => "deliveries/s",
                "mbPerSec" => "MB/s each way",
                _ => "msg/s",
            };
            double stock = Median(byServer.FirstOrDefault(g => g.Key == "stock")?.Select(r => Num(r.Result, primary)));
            foreach (var group in byServer)
            {
                var results = group.Select(r => r.Result).ToList();
                double value = Median(results.Select(r => Num(r, primary)));
                // No ratio for a server that produced nothing (every run failed): 0.00x would read as a measurement.
                string ratio = group.Key == "stock" || double.IsNaN(stock) || !(value > 0) ? "" : $"{value / stock:0.00}x";
                string main = $"{Fmt(value)} {unit}";
                string MedianOf(string name) => Fmt(Median(results.Select(r => Num(r, name))));
                if (mode == "idle")
                {
                    main += $", {MedianOf("gcHeapKiBPerConn")} KiB/conn GC heap";
                }
                if (mode == "broadcast")
                {
                    main += $", {MedianOf("msgsPerSec")} msg/s to all";
                }
                string latency = mode switch
                {
                    "echo" => $"{MedianOf("p50us")} / {MedianOf("p99us")}",
                    "broadcast" => $"fan-out {MedianOf("p50us")} / {MedianOf("p99us")}; each {MedianOf("deliveryP50us")} / {MedianOf("deliveryP99us")}",
                    _ => "",
                };
                string alloc = mode switch
                {
                    "echo" => MedianOf("serverAllocPerMsg"),
                    "broadcast" => $"{MedianOf("serverAllocPerDelivery")} per delivery",
                    _ => "",
                };
                string serverCpu = mode is "echo" or "broadcast" ? MedianOf("serverCpu") : "";
                string cpu = mode switch
                {
                    "idle" => "",
                    "broadcast" when results.Any(r => Num(r, "clientCeilingPerSec") > 0) =>
                        $"{MedianOf("clientCpu")} (saturates near {MedianOf("clientCeilingPerSec")}/s)",
                    _ => MedianOf("clientCpu"),
                };
                string bound = mode == "idle" ? "" : $"{results.Count(r => r.TryGetProperty("clientBound", out var b) && b.GetBoolean())}/{results.Count}";
                int errors = results.Sum(r => r.TryGetProperty("errors", out _) ? (int)Num(r, "errors") : 0);
                long gaps = results.Sum(r => r.TryGetProperty("gaps", out _) ? (long)Num(r, "gaps") : 0);
                string runsText = results.Count.ToString(CultureInfo.InvariantCulture);
                if (errors != 0 || gaps != 0)
                {
                    runsText += gaps == 0 ? $" ({errors} errors)" : $" ({errors} errors, {gaps} gaps)";
                }
                sb.AppendLine($"| {scenario} | {group.Key} | {runsText} | {main} | {ratio} | {latency} | {alloc} | {serverCpu} | {cpu} | {bound} |");
            }
        }
        Console.Write(sb.ToString());
        return 0;
    }

    private static double Num(JsonElement e, string name) =>
        e.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.Number ? v.GetDouble() : double.NaN;

    private static double Median(IEnumerable<double>? values)
    {
        if (values is null)
        {
            return double.NaN;
        }
        var sorted = values.Where(v => !double.IsNaN(v)).Order().ToArray();
        if (sorted.Length == 0)
        {
            return double.NaN;
        }
        int mid = sorted.Length / 2;
        return sorted.Length % 2 == 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
    }

    private static string Fmt(double v) => double.IsNaN(v) ? "-"
        : Math.Abs(v) >= 1000 ? v.ToString("N0", CultureInfo.InvariantCulture)
        : Math.Abs(v) >= 100 ? v.ToString("0", CultureInfo.InvariantCulture)
        : v.ToString("0.##", CultureInfo.InvariantCulture);
}
