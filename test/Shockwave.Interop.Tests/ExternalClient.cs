using System.Diagnostics;
using System.Reflection;
using System.Text;
using System.Text.Json;

namespace Shockwave.Interop.Tests;

/// <summary>The one-line JSON summary the client scripts in <c>test/interop</c> print.</summary>
public sealed record ClientSummary(bool Ok, string? Extensions, int Messages, string? Error);

/// <summary>What a client script run produced: its exit code, output and parsed summary.</summary>
public sealed record ClientRun(int ExitCode, string StandardOutput, string StandardError, ClientSummary? Summary)
{
    public override string ToString() =>
        $"exit code {ExitCode}\n--- stdout ---\n{StandardOutput}\n--- stderr ---\n{StandardError}";

    /// <summary>Fails unless every message echoed byte-exact and the connection closed with 1000.</summary>
    public ClientSummary AssertSucceeded(int expectedMessages)
    {
        Assert.True(ExitCode == 0 && Summary is { Ok: true } && Summary.Messages == expectedMessages, $"The client reported a failure ({expectedMessages} messages expected):\n{this}");
        return Summary!;
    }
}

/// <summary>
/// Runs the third-party client scripts in <c>test/interop</c>: writes the messages to a temporary directory, hands the
/// script a JSON config, kills it (whole tree) on timeout, and keeps its output for the assertion message.
/// </summary>
public static class ExternalClient
{
    private const string InstallHint = "Run scripts/install-test-deps.sh to install the interop test dependencies.";

    private static readonly JsonSerializerOptions SummaryJson = new() { PropertyNameCaseInsensitive = true };

    public static string RepoRoot { get; } = FindRepoRoot();

    public static string InteropDirectory => Path.Combine(RepoRoot, "test", "interop");

    /// <summary>The Debian interpreter that python3-websockets installs into, not whichever python3 is first on PATH.</summary>
    public const string Python = "/usr/bin/python3";

    /// <summary>Fails (never skips) when Node or its <c>ws</c> package is missing.</summary>
    public static async Task RequireNodeWsAsync()
    {
        Assert.True(Directory.Exists(Path.Combine(InteropDirectory, "node_modules", "ws")), $"Node's ws is not installed in test/interop/node_modules. {InstallHint}");
        var probe = await RunAsync("node", ["--version"], TimeSpan.FromSeconds(20));
        Assert.True(probe.ExitCode == 0, $"node is not runnable. {InstallHint}\n{probe}");
    }

    /// <summary>Fails (never skips) when Python's websockets is missing from the system interpreter.</summary>
    public static async Task RequirePythonWebsocketsAsync()
    {
        Assert.True(File.Exists(Python), $"{Python} is missing. {InstallHint}");
        var probe = await RunAsync(Python, ["-c", "import websockets"], TimeSpan.FromSeconds(20));
        Assert.True(probe.ExitCode == 0, $"{Python} cannot import websockets. {InstallHint}\n{probe}");
    }

    /// <summary>The Chromium that Debian's chromium package installs; playwright-core is pointed at it.</summary>
    public const string Chromium = "/usr/bin/chromium";

    /// <summary>Fails (never skips) when Node, its <c>playwright-core</c> package or Debian's Chromium is missing.</summary>
    public static async Task RequireChromiumAsync()
    {
        Assert.True(File.Exists(Path.Combine(InteropDirectory, "node_modules", "playwright-core", "package.json")), $"playwright-core is not installed in test/interop/node_modules. {InstallHint}");
        Assert.True(File.Exists(Chromium), $"{Chromium} is missing (Debian's chromium package). {InstallHint}");
        var node = await RunAsync("node", ["--version"], TimeSpan.FromSeconds(20));
        Assert.True(node.ExitCode == 0, $"node is not runnable. {InstallHint}\n{node}");
        var chromium = await RunAsync(Chromium, ["--version"], TimeSpan.FromSeconds(20));
        Assert.True(chromium.ExitCode == 0 && chromium.StandardOutput.Contains("Chromium", StringComparison.Ordinal), $"{Chromium} is not runnable. {InstallHint}\n{chromium}");
    }

    /// <summary>Writes <paramref name="payloads"/> to files and runs <paramref name="script"/> with a config naming them.</summary>
    public static async Task<ClientRun> RunScriptAsync(string interpreter, string script, Dictionary<string, object?> config, IReadOnlyList<Payload> payloads, TimeSpan timeout)
    {
        var directory = Directory.CreateTempSubdirectory("shockwave-interop-");
        try
        {
            var messages = new List<object>();
            for (int i = 0; i < payloads.Count; i++)
            {
                string file = Path.Combine(directory.FullName, $"message-{i:D3}.bin");
                await File.WriteAllBytesAsync(file, payloads[i].Data);
                messages.Add(new { file, text = payloads[i].IsText });
            }

            config["messages"] = messages;
            string configFile = Path.Combine(directory.FullName, "config.json");
            await File.WriteAllTextAsync(configFile, JsonSerializer.Serialize(config));

            // The script's own timeout fires first and reports; ours is the backstop that kills a hung interpreter.
            return await RunAsync(interpreter, [Path.Combine(InteropDirectory, script), configFile], timeout + TimeSpan.FromSeconds(10));
        }
        finally
        {
            directory.Delete(recursive: true);
        }
    }

    public static async Task<ClientRun> RunAsync(string fileName, IReadOnlyList<string> arguments, TimeSpan timeout)
    {
        var start = new ProcessStartInfo(fileName)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = InteropDirectory,
        };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        using var process = new Process { StartInfo = start };
        var stdout = new StringBuilder();
        var stderr = new StringBuilder();
        process.OutputDataReceived += (_, e) => { if (e.Data is not null) { lock (stdout) { stdout.AppendLine(e.Data); } } };
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) { lock (stderr) { stderr.AppendLine(e.Data); } } };
        try
        {
            process.Start();
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            return new ClientRun(-1, "", $"could not start {fileName}: {e.Message}. {InstallHint}", null);
        }

        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            await process.WaitForExitAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            using var drain = new CancellationTokenSource(TimeSpan.FromSeconds(10));
            await process.WaitForExitAsync(drain.Token);
            lock (stderr)
            {
                stderr.AppendLine($"[killed after {timeout.TotalSeconds:0} s]");
            }
        }

        // WaitForExitAsync returns once the output streams reached end of file, so both buffers are complete here.
        string output, error;
        lock (stdout)
        {
            output = stdout.ToString();
        }

        lock (stderr)
        {
            error = stderr.ToString();
        }

        return new ClientRun(process.ExitCode, output, error, ParseSummary(output));
    }

    private static ClientSummary? ParseSummary(string output)
    {
        var line = output.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).LastOrDefault(l => l.StartsWith('{'));
        if (line is null)
        {
            return null;
        }

        try
        {
            return JsonSerializer.Deserialize<ClientSummary>(line, SummaryJson);
        }
        catch (JsonException)
        {
            return null;
        }
    }

    private static string FindRepoRoot()
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            if (File.Exists(Path.Combine(directory.FullName, "Shockwave.sln")))
            {
                return directory.FullName;
            }
        }

        // Built with an artifacts path outside the checkout: fall back to where this project was built from.
        string? built = typeof(ExternalClient).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>().FirstOrDefault(a => a.Key == "ShockwaveSourceRoot")?.Value;
        if (built is not null && File.Exists(Path.Combine(built, "Shockwave.sln")))
        {
            return built;
        }

        throw new InvalidOperationException($"No Shockwave.sln above {AppContext.BaseDirectory} nor at '{built}': the interop tests run from a repository checkout.");
    }
}
