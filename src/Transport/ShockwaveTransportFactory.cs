using System.Diagnostics.Metrics;
using System.Net;
using System.Net.Sockets;
using Microsoft.AspNetCore.Connections;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Shockwave.Transport;

/// <summary>
/// Kestrel's entry into the transport: binds TCP and Unix domain socket endpoints and leaves anything else (named pipes,
/// inherited handles) to the next registered transport, Kestrel's own sockets. One buffer pool for every listener.
/// </summary>
internal sealed class ShockwaveTransportFactory : IConnectionListenerFactory, IConnectionListenerFactorySelector, IDisposable
{
    internal const string MeterName = "Shockwave.Transport";

    private readonly ShockwaveTransportOptions _options;
    private readonly TransportLog _log;
    private readonly Meter _meter;

    public ShockwaveTransportFactory(IOptions<ShockwaveTransportOptions> options, ILoggerFactory loggerFactory, IMeterFactory meterFactory)
    {
        _options = options.Value;
        _log = new TransportLog(loggerFactory.CreateLogger("Shockwave.Transport"));
        Pool = new BlockMemoryPool(_options.MaxReceiveSize, _options.MaxRetainedBlocks, _options.MaxRetainedLargeBlocks);
        _meter = meterFactory.Create(MeterName);
        _meter.CreateObservableUpDownCounter("shockwave.transport.memory.rented", () => Pool.RentedBytes, "By",
            "Bytes of the transport's buffer blocks held by connections (received and not yet consumed, written and not yet sent); zero when no connection holds data.");
    }

    internal BlockMemoryPool Pool { get; }

    public bool CanBind(EndPoint endpoint) => endpoint is IPEndPoint or UnixDomainSocketEndPoint;

    public ValueTask<IConnectionListener> BindAsync(EndPoint endpoint, CancellationToken cancellationToken = default)
    {
        if (!CanBind(endpoint))
        {
            throw new NotSupportedException($"The Shockwave transport binds TCP and Unix domain sockets, not {endpoint.GetType().Name}.");
        }

        return ValueTask.FromResult<IConnectionListener>(SocketConnectionListener.Bind(endpoint, Pool, _options, _log));
    }

    public void Dispose()
    {
        _meter.Dispose();
        Pool.Dispose();
    }
}
