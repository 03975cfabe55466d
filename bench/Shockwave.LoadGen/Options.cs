using System.Globalization;
using System.Net;

namespace Shockwave.LoadGen;

/// <summary>Command-line options; every mode reads the ones it needs.</summary>
internal sealed class Options
{
    public string Mode { get; private set; } = "echo";
    public IPAddress Host { get; private set; } = IPAddress.Loopback;
    public int Port { get; private set; } = 9300;
    public int StatsPort { get; private set; } = 9399;
    /// <summary>Broadcast across nodes: every other receiver connects to this port (a second node) instead of --port.</summary>
    public int? OtherPort { get; private set; }
    public string Path { get; private set; } = "/echo";
    public int Connections { get; private set; } = 100;
    public int Receivers { get; private set; } = 100;
    public int Senders { get; private set; } = 1;
    public int InFlight { get; private set; } = 16;
    public int Size { get; private set; } = 64;
    public bool Text { get; private set; }
    public bool Json { get; private set; }
    public bool Deflate { get; private set; }
    public int CompressionLevel { get; private set; } = 6;
    public double Duration { get; private set; } = 10;
    public double Warmup { get; private set; } = 3;
    public int Rate { get; private set; } = 4000;
    public double Hold { get; private set; } = 2;
    public int Sources { get; private set; } = 1;
    public int Concurrency { get; private set; } = 32;
    public int SampleEvery { get; private set; } = 64;
    public string Label { get; private set; } = "";
    public string? SummarizeFile { get; private set; }

    public static Options Parse(string[] args)
    {
        var o = new Options();
        bool pathGiven = false;
        for (int i = 0; i < args.Length; i++)
        {
            string a = args[i];
            string Next() => i + 1 < args.Length ? args[++i] : throw new ArgumentException($"{a} needs a value");
            int NextInt() => int.Parse(Next(), CultureInfo.InvariantCulture);
            double NextDouble() => double.Parse(Next(), CultureInfo.InvariantCulture);
            switch (a)
            {
                case "--mode": o.Mode = Next(); break;
                case "--host": o.Host = IPAddress.Parse(Next()); break;
                case "--port": o.Port = NextInt(); break;
                case "--stats-port": o.StatsPort = NextInt(); break;
                case "--other-port": o.OtherPort = NextInt(); break;
                case "--path": o.Path = Next(); pathGiven = true; break;
                case "-c": case "--connections": o.Connections = NextInt(); break;
                case "--receivers": o.Receivers = NextInt(); break;
                case "--senders": o.Senders = NextInt(); break;
                case "-p": case "--in-flight": o.InFlight = NextInt(); break;
                case "-s": case "--size": o.Size = NextInt(); break;
                case "--text": o.Text = true; break;
                case "--binary": o.Text = false; break;
                case "--json": o.Json = true; o.Text = true; break;
                case "--deflate": o.Deflate = true; break;
                case "--level": o.CompressionLevel = NextInt(); break;
                case "-d": case "--duration": o.Duration = NextDouble(); break;
                case "-w": case "--warmup": o.Warmup = NextDouble(); break;
                case "--rate": o.Rate = NextInt(); break;
                case "--hold": o.Hold = NextDouble(); break;
                case "--sources": o.Sources = NextInt(); break;
                case "--concurrency": o.Concurrency = NextInt(); break;
                case "--sample-every": o.SampleEvery = NextInt(); break;
                case "--label": o.Label = Next(); break;
                case "--summarize": o.Mode = "summarize"; o.SummarizeFile = Next(); break;
                case "-h": case "--help": o.Mode = "help"; break;
                default: throw new ArgumentException($"unknown option {a}");
            }
        }
        if (o.Sources is < 1 or > 250 || o.InFlight < 1 || o.Connections < 1 || o.Size < 0 || o.SampleEvery < 1
            || o.Receivers < 1 || o.Senders is < 1 or > BroadcastPlan.MaxSenders)
        {
            throw new ArgumentException("out-of-range option");
        }
        if (o.Mode == "broadcast")
        {
            if (!pathGiven)
            {
                o.Path = "/broadcast";
            }
            // The sequence number and the send time are raw binary in the first 16 bytes of every message.
            if (o.Size < BroadcastPlan.MetaLength || o.Text || o.Deflate)
            {
                throw new ArgumentException($"--mode broadcast needs --binary, -s {BroadcastPlan.MetaLength} or more, no --deflate");
            }
        }
        return o;
    }

    public const string Usage = """
        Shockwave.LoadGen: WebSocket load generator (raw sockets, pre-masked frames built once).
          --mode echo     -c CONNS -p IN_FLIGHT -s SIZE [--text|--binary|--json] [--deflate [--level 6]] -d SECONDS -w SECONDS
          --mode idle     -c CONNS --rate CONNECTS_PER_S --hold SECONDS [--sources N]
          --mode connect  --concurrency N -d SECONDS -w SECONDS [--sources N]
          --mode broadcast --receivers N [--senders 1] -p IN_FLIGHT -s SIZE [--binary] -d SECONDS -w SECONDS
                  N receivers and the senders connect to /broadcast (the default path in this mode). Each sender keeps
                  at most IN_FLIGHT messages that have not yet reached every receiver; a message carries its sender,
                  sequence number and send time in its first 16 bytes. Receivers check order (no repeat, no going
                  back), count gaps (messages the server dropped), length and type of every message and the bytes of
                  a sample. Reports deliveries/s, messages/s (fully delivered), fan-out latency (send to the last
                  receiver) and per-delivery latency. --other-port P puts every other receiver on a second node at
                  port P (the senders stay on --port): cross-node broadcast through a backplane.
          --summarize FILE   print the medians table of a results file (JSON lines with labels "scenario|server")
        Common: --host 127.0.0.1 --port 9300 --stats-port 9399 --path /echo --label TEXT --sample-every 64
        --sources N spreads connections over the source addresses 127.0.0.2 .. 127.0.0.(N+1) when N > 1.
        Prints one JSON line on stdout; errors make the exit code non-zero.
        """;
}
