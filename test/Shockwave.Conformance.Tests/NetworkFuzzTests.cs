using System.Globalization;
using Shockwave.Conformance.Tests.Fuzzing;
using Xunit.Abstractions;
using Xunit.Sdk;

namespace Shockwave.Conformance.Tests;

/// <summary>Tests that measure the process's memory run alone, after the parallel conformance rows.</summary>
[CollectionDefinition(nameof(SerialCollection), DisableParallelization = true)]
public sealed class SerialCollection;

/// <summary>
/// The network fuzzer (issue "Beyond Autobahn"): many concurrent connections to samples/Echo on a real Kestrel send mutated
/// frame streams in random TCP writes; each reaction must be a legal one (see <see cref="NetworkFuzzer"/>), a clean
/// connection must still echo after every batch, and the server's managed heap must not grow across the run.
/// </summary>
/// <remarks>
/// CI runs 300 seeded connections. The long run is
/// <c>SHOCKWAVE_NETFUZZ_CONNECTIONS=200000 SHOCKWAVE_NETFUZZ_SEED=1 dotnet test test/Shockwave.Conformance.Tests --filter "FullyQualifiedName~NetworkFuzz" --logger "console;verbosity=detailed"</c>;
/// with <c>SHOCKWAVE_NETFUZZ_URL=ws://127.0.0.1:5000/echo</c> it targets a server started with
/// <c>dotnet run -c Release --project samples/Echo -- --urls http://127.0.0.1:5000</c> instead (no heap check then: watch
/// that process's memory). Connection i uses seed SEED + i; a failure names it, and
/// <c>SHOCKWAVE_NETFUZZ_SEED=&lt;that seed&gt; SHOCKWAVE_NETFUZZ_CONNECTIONS=1</c> replays it.
/// </remarks>
[Collection(nameof(SerialCollection))]
public sealed class NetworkFuzzTests(ITestOutputHelper output)
{
    private const int DefaultConnections = 300;
    private const int DefaultSeed = 6455;
    private const long MaxHeapGrowth = 64L * 1024 * 1024;

    [Fact]
    public async Task MutatedStreams_GetLegalReactions_AndTheServerStaysUpAndFlat()
    {
        int connections = EnvironmentInt("SHOCKWAVE_NETFUZZ_CONNECTIONS") ?? DefaultConnections;
        int baseSeed = EnvironmentInt("SHOCKWAVE_NETFUZZ_SEED") ?? DefaultSeed;
        int concurrency = EnvironmentInt("SHOCKWAVE_NETFUZZ_CONCURRENCY") ?? 16;
        string? url = Environment.GetEnvironmentVariable("SHOCKWAVE_NETFUZZ_URL");
        int batch = concurrency * 4;

        ConformanceServer? server = null;
        NetworkFuzzer fuzzer;
        if (string.IsNullOrEmpty(url))
        {
            server = ConformanceServer.Start();
            fuzzer = new NetworkFuzzer(server.EndPoint, server.Authority, "/echo");
        }
        else
        {
            fuzzer = NetworkFuzzer.FromUrl(url);
        }

        Log($"network fuzz: {connections} connections from seed {baseSeed}, {concurrency} at a time, against {url ?? "samples/Echo in-process"}");
        var started = DateTime.UtcNow;
        long? baseline = null;
        try
        {
            for (int first = 0; first < connections; first += batch)
            {
                int count = Math.Min(batch, connections - first);
                await RunBatchAsync(fuzzer, baseSeed, first, count, concurrency);
                await fuzzer.CheckCleanConnectionAsync(baseSeed + first).WaitAsync(TimeSpan.FromSeconds(30));

                // The first batch warms pools, JIT and Kestrel's caches; the heap is measured from there.
                if (server is not null && baseline is null)
                {
                    baseline = GC.GetTotalMemory(forceFullCollection: true);
                }

                if (connections >= 10_000 && (first / batch) % 100 == 0)
                {
                    Log($"{first + count} connections: {Summary(fuzzer)}");
                }
            }

            Log($"{connections} connections in {(DateTime.UtcNow - started).TotalSeconds:F1} s from seed {baseSeed}: {Summary(fuzzer)}");
            if (server is not null && baseline is { } before)
            {
                // Connections the server is still tearing down hold memory for a moment; give them a few seconds.
                long growth = 0;
                for (int attempt = 0; attempt < 20; attempt++)
                {
                    growth = GC.GetTotalMemory(forceFullCollection: true) - before;
                    if (growth < MaxHeapGrowth)
                    {
                        break;
                    }

                    await Task.Delay(250);
                }

                Log($"managed heap after forced GC: {before / 1024} KiB after warm-up, {(before + growth) / 1024} KiB at the end ({growth / 1024:+#;-#;0} KiB)");
                Assert.True(growth < MaxHeapGrowth, $"the managed heap grew by {growth / (1024 * 1024)} MiB over the run (seed {baseSeed})");
            }

            if (connections >= DefaultConnections)
            {
                // A fuzzer that never gets past the header checks proves little: the run must reach every fault code,
                // healthy connections closed cleanly, and connections dropped mid-frame.
                var keys = fuzzer.Outcomes.Keys.ToList();
                foreach (string needed in new[] { "fail 1002", "fail 1007", "fail 1009", "valid, closed 1000", "valid, dropped mid-frame", "client close echoed" })
                {
                    Assert.True(keys.Any(k => k.StartsWith(needed, StringComparison.Ordinal)), $"no '{needed}' outcome in {Summary(fuzzer)}");
                }
            }
        }
        finally
        {
            if (server is not null)
            {
                await server.DisposeAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(30));
            }
        }
    }

    private async Task RunBatchAsync(NetworkFuzzer fuzzer, int baseSeed, int first, int count, int concurrency)
    {
        int next = first;
        int end = first + count;
        async Task WorkerAsync()
        {
            int index;
            while ((index = Interlocked.Increment(ref next) - 1) < end)
            {
                int seed = unchecked(baseSeed + index);
                try
                {
                    await fuzzer.RunAsync(seed).WaitAsync(TimeSpan.FromSeconds(60));
                }
                catch (Exception e)
                {
                    string replay = $"network fuzz connection {index} failed (seed {seed}); replay with SHOCKWAVE_NETFUZZ_SEED={seed} SHOCKWAVE_NETFUZZ_CONNECTIONS=1";
                    Log(replay);
                    throw new XunitException($"{replay}{Environment.NewLine}{e.Message}{(e is FuzzFailure ? "" : Environment.NewLine + e)}");
                }
            }
        }

        await Task.WhenAll(Enumerable.Range(0, concurrency).Select(_ => Task.Run(WorkerAsync)));
    }

    private static string Summary(NetworkFuzzer fuzzer) =>
        string.Join(", ", fuzzer.Outcomes.OrderBy(o => o.Key, StringComparer.Ordinal).Select(o => $"{o.Key}: {o.Value} (mean {fuzzer.Milliseconds.GetValueOrDefault(o.Key) / o.Value:F0} ms)"));

    private void Log(string line)
    {
        output.WriteLine(line);
        Console.WriteLine(line);
    }

    private static int? EnvironmentInt(string name) =>
        int.TryParse(Environment.GetEnvironmentVariable(name), NumberStyles.Integer, CultureInfo.InvariantCulture, out int value) ? value : null;
}
