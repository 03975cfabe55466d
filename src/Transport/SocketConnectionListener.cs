using System.Net;
using System.Net.Sockets;
using Microsoft.AspNetCore.Connections;

namespace Shockwave.Transport;

/// <summary>A bound listening socket handing Kestrel one <see cref="SocketConnection"/> per accepted socket.</summary>
internal sealed class SocketConnectionListener : IConnectionListener
{
    private readonly Socket _listenSocket;
    private readonly BlockMemoryPool _pool;
    private readonly ShockwaveTransportOptions _options;
    private readonly ConnectionPipeOptions _pipes;
    private readonly SocketSenderPool _senders = new();
    private readonly TransportLog _log;

    private SocketConnectionListener(Socket listenSocket, BlockMemoryPool pool, ShockwaveTransportOptions options, TransportLog log)
    {
        _listenSocket = listenSocket;
        _pool = pool;
        _options = options;
        _pipes = new ConnectionPipeOptions(pool, options);
        _log = log;
        EndPoint = listenSocket.LocalEndPoint!;
    }

    public EndPoint EndPoint { get; }

    public static SocketConnectionListener Bind(EndPoint endPoint, BlockMemoryPool pool, ShockwaveTransportOptions options, TransportLog log)
    {
        var protocol = endPoint is UnixDomainSocketEndPoint ? ProtocolType.Unspecified : ProtocolType.Tcp;
        var socket = new Socket(endPoint.AddressFamily, SocketType.Stream, protocol);
        try
        {
            // As Kestrel: [::] also takes IPv4 clients.
            if (endPoint is IPEndPoint ip && ip.Address.Equals(IPAddress.IPv6Any))
            {
                socket.DualMode = true;
            }

            socket.Bind(endPoint);
            socket.Listen(options.Backlog);
        }
        catch (SocketException e) when (e.SocketErrorCode == SocketError.AddressAlreadyInUse)
        {
            socket.Dispose();
            // Kestrel tells "address in use" from other failures by this type (it retries localhost on another family).
            throw new AddressInUseException(e.Message, e);
        }
        catch
        {
            socket.Dispose();
            throw;
        }

        var listener = new SocketConnectionListener(socket, pool, options, log);
        log.Listening(listener.EndPoint);
        return listener;
    }

    public async ValueTask<ConnectionContext?> AcceptAsync(CancellationToken cancellationToken = default)
    {
        while (true)
        {
            Socket accepted;
            try
            {
                accepted = await _listenSocket.AcceptAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (Exception e) when (e is ObjectDisposedException || (e is SocketException s && s.SocketErrorCode == SocketError.OperationAborted))
            {
                return null; // unbound
            }
            catch (SocketException e) when (e.SocketErrorCode is SocketError.ConnectionReset or SocketError.ConnectionAborted)
            {
                continue; // reset between the handshake and the accept: nothing to serve
            }
            catch (SocketException e)
            {
                // Out of descriptors or memory: say so, wait a moment rather than spin, and keep the listener alive.
                _log.AcceptFailed(EndPoint, e);
                await Task.Delay(TimeSpan.FromMilliseconds(10), cancellationToken).ConfigureAwait(false);
                continue;
            }

            try
            {
                if (_options.NoDelay && accepted.ProtocolType == ProtocolType.Tcp)
                {
                    accepted.NoDelay = true;
                }

                // The receive loop reads without blocking once a zero-byte receive has said data is there.
                accepted.Blocking = false;
                var connection = new SocketConnection(accepted, _pool, _pipes, _senders, _log);
                connection.Start();
                return connection;
            }
            catch (SocketException)
            {
                accepted.Dispose(); // reset before it could be set up
            }
        }
    }

    public ValueTask UnbindAsync(CancellationToken cancellationToken = default)
    {
        _listenSocket.Dispose();
        return ValueTask.CompletedTask;
    }

    public ValueTask DisposeAsync()
    {
        // Connections still open keep sending: a sender they return after this is disposed instead of kept.
        _listenSocket.Dispose();
        _senders.Dispose();
        return ValueTask.CompletedTask;
    }
}
