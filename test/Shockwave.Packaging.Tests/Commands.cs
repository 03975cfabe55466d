using System.Diagnostics;
using System.Text;

namespace Shockwave.Packaging.Tests;

/// <summary>What a command printed and how it ended.</summary>
public sealed record CommandResult(string Command, int ExitCode, string Output, TimeSpan Elapsed)
{
    public override string ToString() => $"`{Command}` exited {ExitCode} after {Elapsed.TotalSeconds:F1} s:{Environment.NewLine}{Output}";
}

/// <summary>Runs dotnet and git as a developer would, in a clean environment.</summary>
internal static class Commands
{
    /// <summary>
    /// Runs a command to its end (or kills it at <paramref name="timeout"/>) and returns its exit code and output. The
    /// variables that <c>dotnet test</c> and MSBuild set for their own children are removed, so a nested build behaves
    /// like one started from a shell; build servers and node reuse are off so nothing outlives the test.
    /// </summary>
    public static async Task<CommandResult> RunAsync(
        string fileName,
        IReadOnlyList<string> arguments,
        string workingDirectory,
        TimeSpan timeout,
        IReadOnlyDictionary<string, string>? environment = null)
    {
        var start = new ProcessStartInfo(fileName)
        {
            WorkingDirectory = workingDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (string argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        foreach (string key in start.Environment.Keys.ToArray())
        {
            if (key.StartsWith("MSBuild", StringComparison.OrdinalIgnoreCase)
                || key.StartsWith("VSTEST", StringComparison.OrdinalIgnoreCase)
                || key.StartsWith("TESTINGPLATFORM", StringComparison.OrdinalIgnoreCase)
                || key.Equals("DOTNET_HOST_PATH", StringComparison.OrdinalIgnoreCase))
            {
                start.Environment.Remove(key);
            }
        }

        start.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        start.Environment["DOTNET_NOLOGO"] = "1";
        start.Environment["DOTNET_SKIP_FIRST_TIME_EXPERIENCE"] = "1";
        start.Environment["DOTNET_CLI_USE_MSBUILD_SERVER"] = "0";
        start.Environment["MSBUILDDISABLENODEREUSE"] = "1";
        start.Environment["GIT_TERMINAL_PROMPT"] = "0";
        foreach (var (key, value) in environment ?? new Dictionary<string, string>())
        {
            start.Environment[key] = value;
        }

        string command = fileName + " " + string.Join(' ', arguments);
        var output = new StringBuilder();
        var stopwatch = Stopwatch.StartNew();
        using var process = new Process { StartInfo = start };
        process.OutputDataReceived += (_, e) => { if (e.Data is not null) { lock (output) { output.AppendLine(e.Data); } } };
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) { lock (output) { output.AppendLine(e.Data); } } };
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        using var deadline = new CancellationTokenSource(timeout);
        try
        {
            await process.WaitForExitAsync(deadline.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync();
            throw new TimeoutException($"`{command}` did not finish within {timeout.TotalSeconds} s:{Environment.NewLine}{Tail(output)}");
        }

        process.WaitForExit(); // drains the redirected output
        lock (output)
        {
            return new CommandResult(command, process.ExitCode, output.ToString(), stopwatch.Elapsed);
        }
    }

    /// <summary>Runs a command and fails the test, with its output, unless it exits 0.</summary>
    public static async Task<CommandResult> RunCheckedAsync(
        string fileName,
        IReadOnlyList<string> arguments,
        string workingDirectory,
        TimeSpan timeout,
        IReadOnlyDictionary<string, string>? environment = null)
    {
        var result = await RunAsync(fileName, arguments, workingDirectory, timeout, environment);
        Assert.True(result.ExitCode == 0, result.ToString());
        return result;
    }

    /// <summary>Runs git with an identity of its own, so commits work on a machine with no git configuration.</summary>
    public static Task<CommandResult> GitAsync(string workingDirectory, params string[] arguments) => RunCheckedAsync(
        "git",
        ["-c", "user.name=Shockwave tests", "-c", "user.email=tests@shockwave.invalid", "-c", "commit.gpgsign=false", "-c", "init.defaultBranch=main", .. arguments],
        workingDirectory,
        TimeSpan.FromMinutes(1));

    private static string Tail(StringBuilder output)
    {
        lock (output)
        {
            string text = output.ToString();
            return text.Length <= 8000 ? text : text[^8000..];
        }
    }
}

/// <summary>A folder under the system temp directory, outside the repository, deleted at the end.</summary>
internal sealed class TempDirectory : IDisposable
{
    public TempDirectory(string purpose)
    {
        Path = System.IO.Path.Combine(System.IO.Path.GetTempPath(), $"shockwave-{purpose}-{Guid.NewGuid():N}");
        Directory.CreateDirectory(Path);
    }

    public string Path { get; }

    public void Dispose()
    {
        try
        {
            Directory.Delete(Path, recursive: true);
        }
        catch (IOException)
        {
            // A process the test started may still hold a file for a moment; the temp folder is the system's to clean.
        }
        catch (UnauthorizedAccessException)
        {
        }
    }
}
