using System.Collections.Concurrent;
using System.Diagnostics;
using Microsoft.AspNetCore.Connections;
using Microsoft.Extensions.DependencyInjection;

namespace Shockwave.Conformance.Tests;

/// <summary>One theory row: a case in one write mode.</summary>
internal sealed record CaseRow(ConformanceCase Case, WriteMode Mode)
{
    public string Key => Mode == WriteMode.Normal ? Case.Id : $"{Case.Id}/{Mode.ToString().ToLowerInvariant()}";

    public string Name => $"{Key}: {Case.Title}";
}

/// <summary>A row's verdict, with what was seen and how long it took.</summary>
internal sealed record CaseResult(CaseRow Row, CaseOutcome Outcome, string Seen, TimeSpan Duration);

/// <summary>
/// Runs every row against one shared server, a few connections at a time, starting them all when the first test asks
/// for a result: xunit runs the rows of one theory one after another, while the cases themselves are mostly waiting on
/// the network, so the pool keeps the whole suite within a few minutes.
/// </summary>
internal static class ConformanceRunner
{
    private const int Parallelism = 4;

    private static readonly Lazy<ConformanceServer> Server = new(ConformanceServer.Start);
    private static readonly Lazy<IReadOnlyDictionary<string, Task<CaseResult>>> Results = new(StartAll);
    private static readonly SemaphoreSlim Slots = new(Parallelism);
    private static readonly ConcurrentDictionary<string, CaseResult> Finished = new();
    private static int _reported;

    public static IReadOnlyList<CaseRow> Rows { get; } = BuildRows();

    public static Task<CaseResult> ResultOf(string key) => Results.Value[key];

    /// <summary>The Kestrel transports registered in the server the suite runs against, last registered (tried first) last.</summary>
    public static IReadOnlyList<string> Transports =>
        Server.Value.Services.GetServices<IConnectionListenerFactory>().Select(f => f.GetType().Name).ToList();

    private static IReadOnlyList<CaseRow> BuildRows()
    {
        var rows = new List<CaseRow>();
        foreach (var c in CaseRegistry.All)
        {
            rows.Add(new(c, WriteMode.Normal));
        }

        // Beyond Autobahn: the same small cases, every byte its own TCP write, and all frames in one write.
        foreach (var c in CaseRegistry.All.Where(c => c.SmallWire))
        {
            rows.Add(new(c, WriteMode.Bytewise));
            if (c.Open && !c.TimingSensitive)
            {
                rows.Add(new(c, WriteMode.Coalesced));
            }
        }

        return rows;
    }

    private static IReadOnlyDictionary<string, Task<CaseResult>> StartAll()
    {
        var server = Server.Value;
        return Rows.ToDictionary(row => row.Key, row => Task.Run(async () =>
        {
            await Slots.WaitAsync();
            try
            {
                return await RunAsync(row, server);
            }
            finally
            {
                Slots.Release();
            }
        }));
    }

    /// <summary>Records a row a test has judged; once every row is in, writes the report if one was asked for.</summary>
    public static void Judged(CaseResult result)
    {
        Finished[result.Row.Key] = result;
        if (Finished.Count == Rows.Count && Interlocked.Exchange(ref _reported, 1) == 0)
        {
            ConformanceReport.WriteIfRequested([.. Rows.Select(r => Finished[r.Key])]);
        }
    }

    public static async Task<CaseResult> RunAsync(CaseRow row, ConformanceServer server)
    {
        var c = row.Case;
        var clock = Stopwatch.StartNew();
        CaseConnection? connection = null;
        CaseOutcome outcome;
        try
        {
            using var budget = new CancellationTokenSource(c.Budget);
            connection = await CaseConnection.ConnectAsync(server, row.Mode, budget.Token);
            outcome = await RunCaseAsync(c, connection).WaitAsync(c.Budget);
        }
        catch (TimeoutException)
        {
            outcome = CaseOutcome.Failed($"case did not finish within {c.Budget.TotalSeconds} s");
        }
        catch (Exception e)
        {
            outcome = CaseOutcome.Failed($"case threw {e.GetType().Name}: {e.Message}");
        }

        string seen = connection?.Summary() ?? "no connection";
        if (connection is not null)
        {
            await connection.DisposeAsync();
        }

        return new CaseResult(row, outcome, seen, clock.Elapsed);
    }

    private static async Task<CaseOutcome> RunCaseAsync(ConformanceCase c, CaseConnection connection)
    {
        if (c.Open)
        {
            if (!await connection.OpenAsync(c.Path, c.Extensions))
            {
                return CaseOutcome.Failed(string.Join("; ", connection.Observations.Violations));
            }

            if (c.Extensions is not null && connection.Deflate is null)
            {
                return new(Verdict.Unimplemented, $"the server declined the offer '{c.Extensions}'");
            }
        }

        await c.Body(connection);
        return await c.Expect.CompleteAsync(connection);
    }
}
