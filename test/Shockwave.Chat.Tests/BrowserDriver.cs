using System.Collections.Concurrent;
using System.Diagnostics;
using System.Reflection;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Shockwave.Chat.Tests;

/// <summary>
/// Debian's headless Chromium driven through playwright-core by test/interop/browser-driver.mjs: one JSON command a
/// line to the script, one answer a line back. Contexts are users (each its own cookie jar), pages are tabs. Fails,
/// never skips, when Node, playwright-core or Chromium is missing (scripts/install-test-deps.sh installs them).
/// </summary>
public sealed class BrowserDriver : IAsyncDisposable
{
    public const string Chromium = "/usr/bin/chromium";

    private const string InstallHint = "Run scripts/install-test-deps.sh to install the browser test dependencies.";

    private static readonly TimeSpan CommandTimeout = TimeSpan.FromSeconds(40);

    private readonly Process _process;
    private readonly ConcurrentDictionary<int, TaskCompletionSource<JsonNode?>> _pending = new();
    private readonly ConcurrentQueue<string> _stderr = new();
    private readonly TaskCompletionSource<JsonNode?> _ready = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int _nextId;

    private BrowserDriver(Process process)
    {
        _process = process;
        _pending[0] = _ready;
        process.OutputDataReceived += (_, e) => OnLine(e.Data);
        process.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is not null)
            {
                _stderr.Enqueue(e.Data);
            }
        };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
    }

    public string BrowserVersion { get; private set; } = "";

    public static string RepoRoot { get; } = FindRepoRoot();

    public static async Task<BrowserDriver> StartAsync()
    {
        string interop = Path.Combine(RepoRoot, "test", "interop");
        Assert.True(File.Exists(Path.Combine(interop, "node_modules", "playwright-core", "package.json")), $"playwright-core is not installed in test/interop/node_modules. {InstallHint}");
        Assert.True(File.Exists(Chromium), $"{Chromium} is missing (Debian's chromium package). {InstallHint}");
        var start = new ProcessStartInfo("node", [Path.Combine(interop, "browser-driver.mjs")])
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = interop,
        };
        var process = Process.Start(start) ?? throw new InvalidOperationException("node did not start");
        var driver = new BrowserDriver(process);
        try
        {
            var version = await driver._ready.Task.WaitAsync(TimeSpan.FromSeconds(60));
            driver.BrowserVersion = version?.GetValue<string>() ?? "";
        }
        catch (Exception e)
        {
            await driver.DisposeAsync();
            throw new InvalidOperationException($"The browser driver did not start ({e.Message}). {InstallHint}\n{driver.StandardError}", e);
        }

        return driver;
    }

    public string StandardError => string.Join('\n', _stderr);

    public Task NewContextAsync(string context) => SendAsync("newContext", new() { ["context"] = context });

    public Task NewPageAsync(string context, string page) => SendAsync("newPage", new() { ["context"] = context, ["page"] = page });

    public async Task<int> GotoAsync(string page, Uri url) =>
        (await SendAsync("goto", new() { ["page"] = page, ["url"] = url.ToString() }))!.GetValue<int>();

    public Task FillAsync(string page, string testId, string value) =>
        SendAsync("fill", new() { ["page"] = page, ["selector"] = TestId(testId), ["value"] = value });

    public Task ClickAsync(string page, string selector) => SendAsync("click", new() { ["page"] = page, ["selector"] = selector });

    public Task PressAsync(string page, string testId, string key) =>
        SendAsync("press", new() { ["page"] = page, ["selector"] = TestId(testId), ["key"] = key });

    /// <summary>Waits until the JavaScript function body (given <c>arg</c>) returns something truthy; returns it.</summary>
    public Task<JsonNode?> WaitForAsync(string page, string body, JsonNode? arg = null, TimeSpan? timeout = null) =>
        SendAsync("waitFor", new() { ["page"] = page, ["body"] = body, ["arg"] = arg, ["timeoutMs"] = (int)(timeout ?? TimeSpan.FromSeconds(15)).TotalMilliseconds });

    public Task<JsonNode?> EvaluateAsync(string page, string body, JsonNode? arg = null) =>
        SendAsync("evaluate", new() { ["page"] = page, ["body"] = body, ["arg"] = arg });

    public Task ScreenshotAsync(string page, string path) => SendAsync("screenshot", new() { ["page"] = page, ["path"] = path });

    public async Task<string[]> LogAsync(string page) =>
        [.. (await SendAsync("log", new() { ["page"] = page }))!.AsArray().Select(n => n!.GetValue<string>())];

    public Task CloseContextAsync(string context) => SendAsync("closeContext", new() { ["context"] = context });

    public static string TestId(string id) => $"[data-testid=\"{id}\"]";

    private async Task<JsonNode?> SendAsync(string op, JsonObject command)
    {
        int id = Interlocked.Increment(ref _nextId);
        command["id"] = id;
        command["op"] = op;
        var answer = new TaskCompletionSource<JsonNode?>(TaskCreationOptions.RunContinuationsAsynchronously);
        _pending[id] = answer;
        await _process.StandardInput.WriteLineAsync(command.ToJsonString());
        await _process.StandardInput.FlushAsync();
        try
        {
            return await answer.Task.WaitAsync(CommandTimeout);
        }
        catch (TimeoutException)
        {
            throw new TimeoutException($"The browser driver did not answer '{op}' within {CommandTimeout}.\n{StandardError}");
        }
    }

    private void OnLine(string? line)
    {
        if (string.IsNullOrWhiteSpace(line) || !line.StartsWith('{'))
        {
            return;
        }

        var answer = JsonNode.Parse(line)!.AsObject();
        int id = answer["id"]!.GetValue<int>();
        if (!_pending.TryRemove(id, out var pending))
        {
            return;
        }

        if (answer["ok"]!.GetValue<bool>())
        {
            pending.TrySetResult(answer["value"]?.DeepClone());
        }
        else
        {
            pending.TrySetException(new BrowserCommandException(answer["error"]?.GetValue<string>() ?? "unknown error"));
        }
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            _process.StandardInput.Close();
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(15));
            await _process.WaitForExitAsync(timeout.Token);
        }
        catch (Exception e) when (e is OperationCanceledException or InvalidOperationException or IOException)
        {
            _process.Kill(entireProcessTree: true);
        }

        _process.Dispose();
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

        string? built = typeof(BrowserDriver).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>().FirstOrDefault(a => a.Key == "ShockwaveSourceRoot")?.Value;
        if (built is not null && File.Exists(Path.Combine(built, "Shockwave.sln")))
        {
            return built;
        }

        throw new InvalidOperationException($"No Shockwave.sln above {AppContext.BaseDirectory} nor at '{built}': the browser tests run from a repository checkout.");
    }
}

/// <summary>A command the browser driver could not carry out (a selector not found, a wait that timed out, ...).</summary>
public sealed class BrowserCommandException(string message) : Exception(message);
