// Shockwave's own WebSocket load generator for the end-to-end benchmark (bench/run-e2e.sh). See Options.Usage.
using System.Net.Sockets;
using Shockwave.LoadGen;

// Run socket continuations on the event-loop thread that completed them: one thread does all the client's work
// (no thread-pool hops per message). Read once by the socket engine, before the first socket exists.
if (Environment.GetEnvironmentVariable("DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS") is null)
{
    Environment.SetEnvironmentVariable("DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS", "1");
}

Options options;
try
{
    options = Options.Parse(args);
}
catch (Exception e) when (e is ArgumentException or FormatException)
{
    Console.Error.WriteLine(e.Message);
    Console.Error.WriteLine(Options.Usage);
    return 2;
}

try
{
    return options.Mode switch
    {
        "echo" => await Modes.EchoAsync(options),
        "idle" => await Modes.IdleAsync(options),
        "connect" => await Modes.ConnectAsync(options),
        "broadcast" => await Modes.BroadcastAsync(options),
        "summarize" => Summary.Print(options.SummarizeFile!),
        _ => Help(),
    };
}
catch (Exception e) when (e is SocketException or IOException or HttpRequestException or InvalidDataException)
{
    Console.Error.WriteLine($"loadgen: {e.Message}");
    return 1;
}

static int Help()
{
    Console.WriteLine(Options.Usage);
    return 0;
}
