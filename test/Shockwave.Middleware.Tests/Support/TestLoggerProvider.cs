using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;

namespace Shockwave.Middleware.Tests.Support;

/// <summary>One captured log line: its category, level, event, rendered message and structured values.</summary>
internal sealed record LogRecord(string Category, LogLevel Level, EventId EventId, string Message, IReadOnlyDictionary<string, object?> Values, Exception? Exception)
{
    public string? Value(string name) => Values.TryGetValue(name, out var value) ? value?.ToString() : null;
}

/// <summary>Captures log lines in memory so tests can assert on them (event ids, transport names, reasons).</summary>
internal sealed class TestLoggerProvider : ILoggerProvider
{
    /// <summary>The category of every Shockwave log line.</summary>
    public const string WibeSocketCategory = "Shockwave.WibeSocket";

    private readonly ConcurrentQueue<LogRecord> _records = new();

    public IReadOnlyList<LogRecord> Records => [.. _records];

    /// <summary>The library's own lines with the given event id.</summary>
    public IReadOnlyList<LogRecord> Events(int eventId) =>
        [.. _records.Where(r => r.Category == WibeSocketCategory && r.EventId.Id == eventId)];

    /// <summary>Waits (bounded) until a line matching <paramref name="predicate"/> has been logged, and returns it.</summary>
    public async Task<LogRecord> WaitForAsync(Func<LogRecord, bool> predicate, TimeSpan? timeout = null)
    {
        var found = await Eventually.ValueAsync(() => _records.FirstOrDefault(predicate), timeout).ConfigureAwait(false);
        return found ?? throw new TimeoutException("No matching log line was written. Lines:" + Environment.NewLine + Dump());
    }

    /// <summary>Waits (bounded) for the library's event with <paramref name="eventId"/>.</summary>
    public Task<LogRecord> WaitForEventAsync(int eventId, TimeSpan? timeout = null) =>
        WaitForAsync(r => r.Category == WibeSocketCategory && r.EventId.Id == eventId, timeout);

    public string Dump() => string.Join(Environment.NewLine, _records.Select(r => $"[{r.Level}] {r.Category} ({r.EventId.Id}): {r.Message} {r.Exception}"));

    public ILogger CreateLogger(string categoryName) => new Logger(categoryName, this);

    public void Dispose()
    {
    }

    private sealed class Logger(string category, TestLoggerProvider provider) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => logLevel != LogLevel.None;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            var values = new Dictionary<string, object?>(StringComparer.Ordinal);
            if (state is IEnumerable<KeyValuePair<string, object?>> pairs)
            {
                foreach (var pair in pairs)
                {
                    values[pair.Key] = pair.Value;
                }
            }

            provider._records.Enqueue(new LogRecord(category, logLevel, eventId, formatter(state, exception), values, exception));
        }
    }
}
