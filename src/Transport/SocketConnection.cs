using System.Buffers;
using System.IO.Pipelines;
using System.Net.Sockets;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Connections.Features;
using Microsoft.AspNetCore.Http.Features;

namespace Shockwave.Transport;

/// <summary>
/// One accepted socket as Kestrel sees a connection: two pipes and two loops. The receive loop waits for data without
/// a buffer (a zero-byte receive), then reads without blocking until the socket is drained, into a 4 KiB block first
/// and into large blocks while each read fills its block; the send loop sends whatever each flush left with one call.
/// </summary>
internal sealed class SocketConnection : ConnectionContext,
    IConnectionIdFeature, IConnectionTransportFeature, IConnectionItemsFeature, IMemoryPoolFeature,
    IConnectionLifetimeFeature, IConnectionEndPointFeature, IConnectionSocketFeature
{
    private static long s_nextId = DateTime.UtcNow.Ticks;

    private readonly Socket _socket;
    private readonly BlockMemoryPool _pool;
    private readonly int _maxReceiveSize;
    private readonly TransportLog _log;
    private readonly Pipe _input;
    private readonly Pipe _output;
    private readonly SocketSenderPool _senders;
    private readonly CancellationTokenSource _closed = new();
    private readonly ConnectionFeatures _features;
    private Task _receiving = Task.CompletedTask;
    private Task _sending = Task.CompletedTask;
    private string? _connectionId;
    private IDictionary<object, object?>? _items;
    private volatile ConnectionAbortedException? _abortReason;
    private int _socketClosed;

    public SocketConnection(Socket socket, BlockMemoryPool pool, ConnectionPipeOptions pipes, SocketSenderPool senders, TransportLog log)
    {
        _socket = socket;
        _senders = senders;
        _pool = pool;
        _maxReceiveSize = pool.MaxBufferSize;
        _log = log;
        LocalEndPoint = socket.LocalEndPoint;
        RemoteEndPoint = socket.RemoteEndPoint;
        ConnectionClosed = _closed.Token;
        _features = new ConnectionFeatures(this);

        _input = new Pipe(pipes.Input);
        _output = new Pipe(pipes.NextOutput());
        Transport = new DuplexPipe(_input.Reader, _output.Writer);
    }

    public override string ConnectionId
    {
        get => _connectionId ??= FormatId(Interlocked.Increment(ref s_nextId));
        set => _connectionId = value;
    }

    public override IFeatureCollection Features => _features;

    public override IDictionary<object, object?> Items
    {
        get => _items ??= new Dictionary<object, object?>();
        set => _items = value;
    }

    public override IDuplexPipe Transport { get; set; }

    public MemoryPool<byte> MemoryPool => _pool;

    public Socket Socket => _socket;

    public void Start()
    {
        _receiving = ReceiveLoopAsync();
        _sending = SendLoopAsync();
    }

    public override void Abort(ConnectionAbortedException abortReason)
    {
        _abortReason ??= abortReason;
        _output.Reader.CancelPendingRead();
        CloseSocket();
    }

    public override async ValueTask DisposeAsync()
    {
        // Kestrel disposes the connection once its pipeline is done with it: end both loops, then wait for them, so every
        // block goes back to the pool before this returns.
        _input.Reader.Complete();
        _output.Writer.Complete();
        await _sending.ConfigureAwait(false);
        await _receiving.ConfigureAwait(false);
        _closed.Dispose();
        await base.DisposeAsync().ConfigureAwait(false);
    }

    private async Task ReceiveLoopAsync()
    {
        Exception? error = null;
        var input = _input.Writer;
        try
        {
            while (true)
            {
                // Wait for data holding no buffer: an idle connection costs no block.
                await _socket.ReceiveAsync(Memory<byte>.Empty, SocketFlags.None).ConfigureAwait(false);

                // Then read what is there without blocking, 4 KiB first; a read that fills its block says the peer is
                // streaming, and the next read takes a block as large as what is waiting, without waiting again.
                var sizeHint = 1;
                while (true)
                {
                    var buffer = input.GetMemory(sizeHint);
                    var received = _socket.Receive(buffer.Span, SocketFlags.None, out var socketError);
                    if (socketError == SocketError.WouldBlock)
                    {
                        break;
                    }

                    if (socketError != SocketError.Success)
                    {
                        throw new SocketException((int)socketError);
                    }

                    if (received == 0)
                    {
                        return; // the peer's FIN
                    }

                    input.Advance(received);
                    var flush = await input.FlushAsync().ConfigureAwait(false);
                    if (flush.IsCompleted || flush.IsCanceled)
                    {
                        return;
                    }

                    if (received < buffer.Length)
                    {
                        break;
                    }

                    // The read filled its block: the peer may be streaming. Ask how much is waiting instead of renting a
                    // large block that a read could leave empty: the pipe would keep it, and the connection hold it
                    // through its next idle wait.
                    var waiting = _socket.Available;
                    if (waiting == 0)
                    {
                        break;
                    }

                    sizeHint = Math.Min(waiting, _maxReceiveSize);
                }
            }
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException or IOException)
        {
            error = CompletionError(e, receiving: true);
        }
        finally
        {
            input.Complete(_abortReason ?? error);

            // ConnectionClosed callbacks are the application's: run them as a thread-pool item of their own, not on the
            // stack of a completion. The loop's task ends after them, so DisposeAsync never disposes the source first.
            await Task.Yield();
            try
            {
                _closed.Cancel();
            }
            catch (AggregateException e)
            {
                _log.ConnectionClosedCallbackFailed(ConnectionId, e);
            }
        }
    }

    private async Task SendLoopAsync()
    {
        Exception? error = null;
        var output = _output.Reader;
        try
        {
            while (true)
            {
                var result = await output.ReadAsync().ConfigureAwait(false);
                if (result.IsCanceled)
                {
                    break;
                }

                var buffer = result.Buffer;
                if (!buffer.IsEmpty)
                {
                    var sender = _senders.Rent();
                    try
                    {
                        await sender.SendAsync(_socket, buffer).ConfigureAwait(false);
                    }
                    finally
                    {
                        _senders.Return(sender);
                    }
                }

                output.AdvanceTo(buffer.End);
                if (result.IsCompleted)
                {
                    break;
                }
            }
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException or IOException)
        {
            error = CompletionError(e, receiving: false);
        }
        finally
        {
            // The application wrote its last byte (or the connection is gone): close both directions, which also ends a
            // receive loop waiting for data that is not coming.
            output.Complete(_abortReason ?? error);
            CloseSocket();
        }
    }

    private void CloseSocket()
    {
        if (Interlocked.Exchange(ref _socketClosed, 1) != 0)
        {
            return;
        }

        try
        {
            _socket.Shutdown(SocketShutdown.Both);
        }
        catch (SocketException)
        {
            // Already reset by the peer: nothing left to shut down.
        }

        _socket.Dispose();
    }

    /// <summary>
    /// What a loop that failed completes its pipe with: a reset by the peer as <see cref="ConnectionResetException"/>,
    /// the socket closed here (an abort, or the other loop finished first) as nothing, since the abort reason, if any,
    /// says why; anything else as an <see cref="IOException"/>, logged.
    /// </summary>
    private Exception? CompletionError(Exception e, bool receiving)
    {
        switch (e)
        {
            case SocketException socket when IsReset(socket.SocketErrorCode):
                _log.ConnectionReset(ConnectionId);
                return new ConnectionResetException(e.Message, e);
            case ObjectDisposedException:
            case SocketException socket when IsClosedHere(socket.SocketErrorCode):
                return null;
            default:
                if (receiving)
                {
                    _log.ReceiveFailed(ConnectionId, e);
                }
                else
                {
                    _log.SendFailed(ConnectionId, e);
                }

                return new IOException(e.Message, e);
        }
    }

    private static bool IsReset(SocketError error) =>
        error is SocketError.ConnectionReset or SocketError.ConnectionAborted or SocketError.Shutdown or SocketError.NetworkReset;

    private static bool IsClosedHere(SocketError error) => error is SocketError.OperationAborted or SocketError.Interrupted;

    // Kestrel's style of id: 13 characters of base32 from a counter seeded with the start time.
    private static string FormatId(long id) => string.Create(13, id, static (chars, value) =>
    {
        const string Alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUV";
        for (var i = chars.Length - 1; i >= 0; i--)
        {
            chars[i] = Alphabet[(int)(value & 31)];
            value >>= 5;
        }
    });

    private sealed class DuplexPipe(PipeReader input, PipeWriter output) : IDuplexPipe
    {
        public PipeReader Input { get; } = input;

        public PipeWriter Output { get; } = output;
    }
}
