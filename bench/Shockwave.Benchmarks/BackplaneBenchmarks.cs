using System.Text;
using BenchmarkDotNet.Attributes;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Shockwave.Backplane;
using Shockwave.Clients;
using Shockwave.Diagnostics;

namespace Shockwave.Benchmarks;

/// <summary>
/// The backplane's two halves on one node, with a broker that takes everything and sends nothing: a send that is also
/// published (<see cref="BroadcastBenchmarks.BroadcastToAll"/>, now with the envelope), and a message from another node
/// framed once and queued for every local recipient (<see cref="ReceivedFromAnotherNode"/>). The allocation column must
/// not grow with the number of recipients.
/// </summary>
[MemoryDiagnoser]
public class BackplaneBenchmarks : BroadcastBenchmarks
{
    private WibeSocketScaleOut _scaleOut = null!;
    private byte[] _envelope = [];
    private string _channel = "";

    [Benchmark]
    public async Task ReceivedFromAnotherNode()
    {
        _scaleOut.OnMessage(_channel, _envelope);
        await TakeFlushedAsync();
    }

    private protected override EndpointConnections CreateAudience(WibeSocketMetrics metrics)
    {
        var options = Options.Create(new WibeSocketBackplaneOptions { NodeId = "this-node" });
        _scaleOut = new WibeSocketScaleOut(new SilentBroker(), options, new BackplaneMetrics(new BenchMeterFactory()), TimeProvider.System, NullLoggerFactory.Instance);
        var audience = new EndpointConnections("bench", "bench", new DefaultUserIdProvider(), metrics, NullLogger.Instance, _scaleOut);
        _channel = _scaleOut.ChannelFor(audience, EnvelopeKind.All, string.Empty);
        var envelope = new BackplaneEnvelope
        {
            Kind = EnvelopeKind.All,
            MessageType = WibeSocketMessageType.Binary,
            Sequence = 1,
            SenderNodeId = "other-node",
            Endpoint = "bench",
            Target = string.Empty,
            Payload = Payload,
        };
        _envelope = new byte[envelope.GetLength()];
        envelope.Write(_envelope);
        return audience;
    }

    /// <summary>Takes every publish and delivers nothing: the benchmark plays the other node.</summary>
    private sealed class SilentBroker : IWibeSocketBackplaneTransport
    {
        public bool IsConnected => true;

        public Task StartAsync(IWibeSocketBackplaneReceiver receiver, CancellationToken cancellationToken) => Task.CompletedTask;

        public ValueTask<bool> PublishAsync(string channel, ReadOnlyMemory<byte> message, CancellationToken cancellationToken) => ValueTask.FromResult(true);

        public Task SubscribeAsync(string channel, CancellationToken cancellationToken) => Task.CompletedTask;

        public Task UnsubscribeAsync(string channel, CancellationToken cancellationToken) => Task.CompletedTask;

        public ValueTask DisposeAsync() => ValueTask.CompletedTask;
    }
}
