using System.Diagnostics.Metrics;
using System.IO.Pipelines;
using BenchmarkDotNet.Attributes;
using Microsoft.Extensions.Logging.Abstractions;
using Shockwave.Clients;
using Shockwave.Diagnostics;
using Shockwave.Protocol;
using Shockwave.Runtime;

namespace Shockwave.Benchmarks;

/// <summary>
/// One broadcast of a 64-byte message to N connections, in process over pipes (no sockets): framing once, queueing
/// for every recipient, writing into each transport pipe and waiting for each recipient's flush. The allocation column is the point: it must not grow with
/// the number of recipients.
/// </summary>
[MemoryDiagnoser]
public class BroadcastBenchmarks
{
    private readonly byte[] _payload = new byte[64];
    private EndpointConnections _audience = null!;
    private Pipe[] _outputs = [];
    private Pipe[] _inputs = [];
    private Task[] _runs = [];
    private ConnectionHeartbeat? _heartbeat;

    [Params(10, 100, 1000)]
    public int Recipients { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        var metrics = new WibeSocketMetrics(new BenchMeterFactory());
        _heartbeat = new ConnectionHeartbeat(TimeProvider.System);
        var runtime = new WibeSocketRuntime(NullLoggerFactory.Instance, metrics, TimeProvider.System, _heartbeat);
        _audience = CreateAudience(metrics);
        var limits = new WibeSocketOptions().ToConnectionLimits();
        var blocks = new BlockPool();
        _outputs = new Pipe[Recipients];
        _inputs = new Pipe[Recipients];
        _runs = new Task[Recipients];
        for (int i = 0; i < Recipients; i++)
        {
            _inputs[i] = new Pipe();
            _outputs[i] = new Pipe(new PipeOptions(pool: blocks, pauseWriterThreshold: 0, useSynchronizationContext: false));
            _runs[i] = WibeSocketConnection.RunAsync(
                new ConnectionSetup
                {
                    Transport = new DuplexPipe(_inputs[i].Reader, _outputs[i].Writer),
                    ConnectionId = i.ToString(System.Globalization.CultureInfo.InvariantCulture),
                    Limits = limits,
                    Runtime = runtime,
                    TransportName = "bench",
                    Observer = _audience,
                    OwnsTransport = true,
                },
                static (socket, ct) => Task.Delay(Timeout.Infinite, ct).ContinueWith(static _ => { }, TaskScheduler.Default));
        }
    }

    [Benchmark]
    public async Task<int> BroadcastToAll()
    {
        using var message = WibeSocketPreparedMessage.Create(_payload, WibeSocketMessageType.Binary);
        var result = await _audience.SendToAllAsync(message);
        await TakeFlushedAsync();
        return result.Queued;
    }

    /// <summary>The payload every benchmark sends.</summary>
    protected ReadOnlySpan<byte> Payload => _payload;

    /// <summary>The audience of the recipients; a subclass adds a backplane to it.</summary>
    private protected virtual EndpointConnections CreateAudience(WibeSocketMetrics metrics) =>
        new("bench", "bench", new DefaultUserIdProvider(), metrics, NullLogger.Instance);

    /// <summary>
    /// Waits for each recipient's (coalesced, deferred) flush and takes what reached its transport, as a socket would:
    /// every operation ends with nothing left in flight.
    /// </summary>
    protected async Task TakeFlushedAsync()
    {
        foreach (var output in _outputs)
        {
            var read = await output.Reader.ReadAsync();
            output.Reader.AdvanceTo(read.Buffer.End);
        }
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        foreach (var input in _inputs)
        {
            input.Writer.Complete();
        }

        Task.WaitAll(_runs, TimeSpan.FromSeconds(30));
        _heartbeat?.Dispose();
    }


    /// <summary>
    /// Blocks reused without limit, like Kestrel's pinned block pool under its transport pipes. The shared array pool
    /// keeps only a few arrays per size, so a thousand pipes each renting a block would measure array allocations that
    /// a Kestrel server does not make.
    /// </summary>
    private sealed class BlockPool : System.Buffers.MemoryPool<byte>
    {
        private readonly System.Collections.Concurrent.ConcurrentQueue<Block> _free = new();

        public override int MaxBufferSize => 4096;

        public override System.Buffers.IMemoryOwner<byte> Rent(int minBufferSize = -1) =>
            _free.TryDequeue(out var block) ? block : new Block(this);

        protected override void Dispose(bool disposing)
        {
        }

        private sealed class Block(BlockPool owner) : System.Buffers.IMemoryOwner<byte>
        {
            public Memory<byte> Memory { get; } = new byte[4096];

            public void Dispose() => owner._free.Enqueue(this);
        }
    }

    internal sealed class BenchMeterFactory : IMeterFactory
    {
        public Meter Create(MeterOptions options) => new(options);

        public void Dispose()
        {
        }
    }
}
