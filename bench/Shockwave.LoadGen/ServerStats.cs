using System.Globalization;
using System.Text.Json;

namespace Shockwave.LoadGen;

/// <summary>The server's own counters (its /stats endpoint) and its process figures from /proc.</summary>
internal sealed record ServerStats(int Pid, long AllocatedBytes, long GcHeapBytes, long RssBytes, double CpuSeconds)
{
    private static readonly HttpClient Client = new() { Timeout = TimeSpan.FromSeconds(30) };

    public static async Task<ServerStats> FetchAsync(Options o, bool collect)
    {
        string url = $"http://{o.Host}:{o.StatsPort}/stats{(collect ? "?gc=1" : "")}";
        string json = await Client.GetStringAsync(url);
        using var doc = JsonDocument.Parse(json);
        var root = doc.RootElement;
        int pid = root.GetProperty("pid").GetInt32();
        return new ServerStats(
            pid,
            root.GetProperty("allocatedBytes").GetInt64(),
            root.GetProperty("gcHeapBytes").GetInt64(),
            RssOf(pid) ?? root.GetProperty("workingSetBytes").GetInt64(),
            CpuOf(pid));
    }

    /// <summary>VmRSS from /proc/PID/status, in bytes.</summary>
    private static long? RssOf(int pid)
    {
        try
        {
            foreach (string line in File.ReadLines($"/proc/{pid}/status"))
            {
                if (line.StartsWith("VmRSS:", StringComparison.Ordinal))
                {
                    string kib = line["VmRSS:".Length..].Trim().Split(' ')[0];
                    return long.Parse(kib, CultureInfo.InvariantCulture) * 1024;
                }
            }
        }
        catch (IOException)
        {
        }
        return null;
    }

    /// <summary>User + system CPU seconds from /proc/PID/stat (fields 14 and 15, in clock ticks of 1/100 s).</summary>
    private static double CpuOf(int pid)
    {
        try
        {
            string stat = File.ReadAllText($"/proc/{pid}/stat");
            string[] fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
            // fields[0] is field 3 (state): utime is field 14, stime field 15.
            long ticks = long.Parse(fields[11], CultureInfo.InvariantCulture) + long.Parse(fields[12], CultureInfo.InvariantCulture);
            return ticks / 100.0;
        }
        catch (IOException)
        {
            return double.NaN;
        }
    }
}
