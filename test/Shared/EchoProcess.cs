using System.Collections.Concurrent;
using System.Diagnostics;
using System.Text.RegularExpressions;

namespace Shockwave.Tests.Shared;

/// <summary>samples/Echo as shipped: its build output run with <c>dotnet Echo.dll</c> on a free port of 127.0.0.1, as a user runs it.</summary>
internal sealed partial class EchoProcess : IDisposable
{
    private readonly Process _process;
    private readonly ConcurrentQueue<string> _output;

    private EchoProcess(Process process, int port, ConcurrentQueue<string> output)
    {
        _process = process;
        Port = port;
        _output = output;
    }

    public int Port { get; }

    public Uri BaseUri => new($"http://127.0.0.1:{Port}/");

    /// <summary>Every line the process has written to stdout and stderr so far.</summary>
    public IReadOnlyList<string> Output => [.. _output];

    /// <param name="environment">Extra environment variables.</param>
    /// <param name="workingDirectory">Where the process starts; its build output folder unless given.</param>
    public static async Task<EchoProcess> StartAsync(IReadOnlyDictionary<string, string>? environment = null, string? workingDirectory = null)
    {
        // The test runs from test/<project>/bin/<Configuration>/<tfm>/; the sample builds beside it.
        var testDirectory = new DirectoryInfo(AppContext.BaseDirectory);
        string tfm = testDirectory.Name;
        string configuration = testDirectory.Parent!.Name;
        var root = testDirectory;
        while (root is not null && !File.Exists(Path.Combine(root.FullName, "Shockwave.sln")))
        {
            root = root.Parent;
        }

        string directory = Path.Combine(root!.FullName, "samples", "Echo", "bin", configuration, tfm);
        var start = new ProcessStartInfo("dotnet", [Path.Combine(directory, "Echo.dll"), "--urls", "http://127.0.0.1:0"])
        {
            WorkingDirectory = workingDirectory ?? directory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.Environment["ASPNETCORE_ENVIRONMENT"] = "Production";
        foreach (var (name, value) in environment ?? new Dictionary<string, string>())
        {
            start.Environment[name] = value;
        }

        var process = Process.Start(start) ?? throw new InvalidOperationException("dotnet did not start");
        var listening = new TaskCompletionSource<int>(TaskCreationOptions.RunContinuationsAsynchronously);
        var lines = new ConcurrentQueue<string>();
        process.OutputDataReceived += (_, e) =>
        {
            if (e.Data is null)
            {
                return;
            }

            lines.Enqueue(e.Data);
            if (ListeningOn().Match(e.Data) is { Success: true } match)
            {
                listening.TrySetResult(int.Parse(match.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture));
            }
        };
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) { lines.Enqueue(e.Data); } };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        try
        {
            int port = await listening.Task.WaitAsync(TimeSpan.FromSeconds(30));
            return new EchoProcess(process, port, lines);
        }
        catch (TimeoutException)
        {
            process.Kill();
            throw new InvalidOperationException("samples/Echo did not start: " + string.Join(Environment.NewLine, lines));
        }
    }

    /// <summary>What Kubernetes sends first: SIGTERM.</summary>
    public void Terminate()
    {
        using var kill = Process.Start("kill", ["-TERM", _process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)])!;
        kill.WaitForExit();
    }

    public async Task<int> WaitForExitAsync(TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        await _process.WaitForExitAsync(cts.Token);
        return _process.ExitCode;
    }

    public void Dispose()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
        }

        _process.Dispose();
    }

    [GeneratedRegex(@"Now listening on: http://127\.0\.0\.1:(\d+)")]
    private static partial Regex ListeningOn();
}
