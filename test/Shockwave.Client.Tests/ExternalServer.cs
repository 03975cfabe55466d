using System.Collections.Concurrent;
using System.Diagnostics;
using System.Reflection;

namespace Shockwave.Client.Tests;

/// <summary>
/// A third-party echo server from test/interop (Node's <c>ws</c> or Python's <c>websockets</c>), started by the test on a
/// free port of 127.0.0.1 and killed (whole tree) when disposed. Fails, never skips, when its runtime is missing.
/// </summary>
public sealed class ExternalServer : IAsyncDisposable
{
    private const string InstallHint = "Run scripts/install-test-deps.sh to install the interop test dependencies.";

    private readonly Process _process;
    private readonly ConcurrentQueue<string> _output;

    private ExternalServer(Process process, int port, ConcurrentQueue<string> output)
    {
        _process = process;
        Port = port;
        _output = output;
    }

    public int Port { get; }

    public Uri Url => new($"ws://127.0.0.1:{Port}/");

    public string Output => string.Join('\n', _output);

    public static string InteropDirectory { get; } = FindInteropDirectory();

    public static Task<ExternalServer> StartNodeWsAsync(bool deflate)
    {
        Assert.True(Directory.Exists(Path.Combine(InteropDirectory, "node_modules", "ws")), $"Node's ws is not installed in test/interop/node_modules. {InstallHint}");
        return StartAsync("node", ["ws-echo-server.mjs", deflate ? "deflate" : "plain"]);
    }

    public static Task<ExternalServer> StartPythonWebsocketsAsync(bool deflate)
    {
        // The Debian interpreter python3-websockets installs into, not whichever python3 is first on PATH.
        Assert.True(File.Exists("/usr/bin/python3"), $"/usr/bin/python3 is missing. {InstallHint}");
        return StartAsync("/usr/bin/python3", ["websockets_echo_server.py", deflate ? "deflate" : "plain"]);
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(10));
        }
        catch (InvalidOperationException)
        {
        }

        _process.Dispose();
    }

    private static async Task<ExternalServer> StartAsync(string fileName, string[] arguments)
    {
        var start = new ProcessStartInfo(fileName, arguments)
        {
            WorkingDirectory = InteropDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        var process = Process.Start(start) ?? throw new InvalidOperationException($"{fileName} did not start");
        var output = new ConcurrentQueue<string>();
        var listening = new TaskCompletionSource<int>(TaskCreationOptions.RunContinuationsAsynchronously);
        process.OutputDataReceived += (_, e) =>
        {
            if (e.Data is null)
            {
                listening.TrySetException(new InvalidOperationException("The server exited before listening."));
                return;
            }

            output.Enqueue(e.Data);
            if (e.Data.StartsWith("listening ", StringComparison.Ordinal))
            {
                listening.TrySetResult(int.Parse(e.Data["listening ".Length..], System.Globalization.CultureInfo.InvariantCulture));
            }
        };
        process.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is not null)
            {
                output.Enqueue(e.Data);
            }
        };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        try
        {
            int port = await listening.Task.WaitAsync(TimeSpan.FromSeconds(30));
            return new ExternalServer(process, port, output);
        }
        catch (Exception ex)
        {
            process.Kill(entireProcessTree: true);
            process.Dispose();
            throw new InvalidOperationException($"{fileName} {string.Join(' ', arguments)} did not start listening. {InstallHint}\n{string.Join('\n', output)}", ex);
        }
    }

    private static string FindInteropDirectory()
    {
        string? root = typeof(ExternalServer).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>()
            .FirstOrDefault(a => a.Key == "ShockwaveSourceRoot")?.Value;
        return Path.Combine(root ?? throw new InvalidOperationException("ShockwaveSourceRoot metadata missing."), "test", "interop");
    }
}
