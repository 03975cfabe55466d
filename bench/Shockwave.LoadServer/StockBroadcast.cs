using System.Buffers;
using System.Collections.Concurrent;
using System.Net.WebSockets;

namespace Shockwave.LoadServer;

/// <summary>
/// /broadcast on the stock stack (UseWebSockets + ManagedWebSocket), written the efficient way a stock user would:
/// every message received on one connection is sent, unchanged (same type, same bytes) and in the order received, to
/// every other connection in a <see cref="ConcurrentDictionary{TKey, TValue}"/> registry. The message is copied once
/// into a pooled, reference-counted buffer that all recipients share; each recipient then pays one
/// <c>SendAsync</c> (one frame written and one flush) per delivery, which is what the stock API offers.
/// </summary>
/// <remarks>
/// Sending: a <see cref="WebSocket"/> allows one send at a time, and a slow receiver must not hold up the loop that
/// fans a message out. So each member has its own queue (<see cref="Member"/>) instead of a send lock the loop would
/// await member after member. The thread that finds a member's queue idle sends inline: a send that completes at once
/// (the usual case: Kestrel's output pipe takes the frame) costs no thread-pool hop and no allocation; a send that
/// pends leaves the rest of that member's queue to its continuation while the loop moves on to the next member. A
/// channel with one writer task per connection was the other choice; it pays a thread-pool hop per delivery whenever
/// the writer was idle, which on the benchmark's one server core is pure overhead.
/// The queues are unbounded: nothing is ever dropped, in line with the endpoint's contract. A production server would
/// bound them and close a receiver that falls too far behind; in the benchmark the load generator's window (at most
/// P messages not yet delivered to every receiver) bounds them.
/// </remarks>
internal sealed class StockBroadcast
{
    private const int ReceiveBufferSize = 16 * 1024;

    private readonly ConcurrentDictionary<Member, byte> _members = new();

    public async Task RunAsync(WebSocket socket, CancellationToken cancellationToken)
    {
        var me = new Member(socket);
        _members.TryAdd(me, 0);
        byte[] buffer = ArrayPool<byte>.Shared.Rent(ReceiveBufferSize);
        bool closeReceived = false;
        try
        {
            while (true)
            {
                int length = 0;
                ValueWebSocketReceiveResult result;
                do
                {
                    if (length == buffer.Length)
                    {
                        byte[] larger = ArrayPool<byte>.Shared.Rent(buffer.Length * 2);
                        buffer.AsSpan(0, length).CopyTo(larger);
                        ArrayPool<byte>.Shared.Return(buffer);
                        buffer = larger;
                    }
                    result = await socket.ReceiveAsync(buffer.AsMemory(length), cancellationToken);
                    length += result.Count;
                }
                while (!result.EndOfMessage && result.MessageType != WebSocketMessageType.Close);

                if (result.MessageType == WebSocketMessageType.Close)
                {
                    closeReceived = socket.State == WebSocketState.CloseReceived;
                    break;
                }

                var message = SharedMessage.Copy(buffer.AsSpan(0, length), result.MessageType);
                // Enumerating the dictionary itself is lock-free and takes no snapshot (.Keys would copy the whole
                // registry for every message).
                foreach (var (member, _) in _members)
                {
                    if (!ReferenceEquals(member, me))
                    {
                        member.Enqueue(message);
                    }
                }
                message.Release();
            }
        }
        catch (WebSocketException)
        {
            // The peer went away without a close handshake: normal at the end of a load run.
        }
        catch (OperationCanceledException)
        {
        }
        catch (IOException)
        {
        }
        finally
        {
            _members.TryRemove(me, out _);
            ArrayPool<byte>.Shared.Return(buffer);
        }

        if (closeReceived)
        {
            // Out of the registry first, then the close behind whatever is still queued for this member.
            try
            {
                await me.CloseAsync().WaitAsync(cancellationToken);
            }
            catch (OperationCanceledException)
            {
            }
        }
    }

    /// <summary>One payload shared by all its recipients; the pooled buffer goes back when the last one has sent it.</summary>
    private sealed class SharedMessage
    {
        /// <summary>Queued to send the close frame in order; holds no buffer, so its count does not matter.</summary>
        public static readonly SharedMessage CloseMarker = new(null, 0, WebSocketMessageType.Close);

        private readonly byte[]? _array;
        private int _references = 1;

        private SharedMessage(byte[]? array, int length, WebSocketMessageType type)
        {
            _array = array;
            Payload = array.AsMemory(0, length);
            Type = type;
        }

        public ReadOnlyMemory<byte> Payload { get; }

        public WebSocketMessageType Type { get; }

        /// <summary>A copy of <paramref name="payload"/> holding one reference, the caller's.</summary>
        public static SharedMessage Copy(ReadOnlySpan<byte> payload, WebSocketMessageType type)
        {
            byte[] array = ArrayPool<byte>.Shared.Rent(payload.Length);
            payload.CopyTo(array);
            return new SharedMessage(array, payload.Length, type);
        }

        public void AddReference() => Interlocked.Increment(ref _references);

        public void Release()
        {
            if (Interlocked.Decrement(ref _references) == 0 && _array is not null)
            {
                ArrayPool<byte>.Shared.Return(_array);
            }
        }
    }

    /// <summary>
    /// A connection's send side: a FIFO queue and a count of queued messages. Whoever raises the count from 0 sends
    /// until it falls back to 0, so there is one sender at a time and messages leave in the order they were queued.
    /// </summary>
    private sealed class Member(WebSocket socket)
    {
        private readonly ConcurrentQueue<SharedMessage> _queue = new();
        private readonly TaskCompletionSource _closed = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private int _queued;
        private bool _failed;

        public void Enqueue(SharedMessage message)
        {
            message.AddReference();
            _queue.Enqueue(message);
            if (Interlocked.Increment(ref _queued) == 1)
            {
                _ = SendQueuedAsync();
            }
        }

        /// <summary>Sends the close frame after every message queued so far; completes when it is sent (or failed).</summary>
        public Task CloseAsync()
        {
            Enqueue(SharedMessage.CloseMarker);
            return _closed.Task;
        }

        // Never throws: every dequeued message is released whatever happens to the send, or the pool would leak.
        private async Task SendQueuedAsync()
        {
            do
            {
                _queue.TryDequeue(out var message);
                try
                {
                    if (_failed)
                    {
                        // The connection is gone: release what is left for it (its own loop removes it from the registry).
                    }
                    else if (message!.Type == WebSocketMessageType.Close)
                    {
                        await socket.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, null, CancellationToken.None);
                    }
                    else
                    {
                        await socket.SendAsync(message.Payload, message.Type, endOfMessage: true, CancellationToken.None);
                    }
                }
                catch (Exception)
                {
                    _failed = true;
                }
                finally
                {
                    if (message!.Type == WebSocketMessageType.Close)
                    {
                        _closed.TrySetResult();
                    }
                    message.Release();
                }
            }
            while (Interlocked.Decrement(ref _queued) != 0);
        }
    }
}
