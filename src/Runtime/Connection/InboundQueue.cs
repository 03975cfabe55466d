using System.Buffers;
using System.IO.Pipelines;
using System.Runtime.CompilerServices;
using Shockwave.Diagnostics;
using Shockwave.Protocol;

namespace Shockwave.Runtime;

/// <summary>A message waiting for the handler: borrowed from the pipe (InPlaceStart set) or owned (Owned set).</summary>
internal readonly record struct PendingMessage(WibeSocketMessageType Type, ReadOnlySequence<byte> Payload, PooledMessageBuffer? Owned, long InPlaceStart)
{
    /// <summary>An empty message borrows nothing: its zero-length slice would still point at a recycled pipe segment.</summary>
    public static PendingMessage Empty(WibeSocketMessageType type) => new(type, ReadOnlySequence<byte>.Empty, null, -1);
}

/// <summary>
/// The hand-off between the read loop and the one receiver: messages wait here whole, borrowed in place from the
/// transport pipe or owned in pooled memory. It enforces the borrowed-payload rule (a message is valid until the next
/// receive, counted by a <see cref="ReceiveLease"/>), tells the read loop how far it may consume the pipe, and keeps
/// the read-ahead budget: past it, the loop waits for the receiver before reading on, so TCP back-pressure reaches
/// the peer.
/// </summary>
// The queue is its own lease (the receive counter): one object fewer per connection.
internal sealed class InboundQueue : ReceiveLease
{
    private readonly Lock _gate;
    private readonly IInboundOwner _owner;
    private readonly PipeReader _input;
    private readonly WibeSocketMetrics _metrics;
    private readonly long _maxReadAheadBytes;

    // Continuations run asynchronously: a handler busy with CPU work must never hold up the read loop (pings and closes).
    private readonly AsyncSignal _messageAvailable = new();
    private AsyncSignal? _readAheadDrained; // only once the read-ahead budget is exceeded: an idle connection has none
    private readonly Queue<PendingMessage> _pending = new();

    // Guarded by _gate.
    private PendingMessage _current;
    private bool _completed;
    private long _ownedPendingBytes;
    private bool _loopWaitsForDrain;
    private bool _loopHoldsInPlaceBytes;

    // Read-loop only: the receiver is signalled once per parsed buffer, not per message.
    private bool _enqueuedSinceSignal;
    private int _wakeRequested;

    public InboundQueue(PipeReader input, WibeSocketMetrics metrics, long maxReadAheadBytes, Lock gate, IInboundOwner owner)
    {
        _gate = gate;
        _owner = owner;
        _input = input;
        _metrics = metrics;
        _maxReadAheadBytes = maxReadAheadBytes;
    }

    /// <summary>True when messages are waiting for the receiver.</summary>
    public bool HasPending
    {
        get
        {
            lock (_gate)
            {
                return _pending.Count > 0;
            }
        }
    }

    /// <summary>
    /// The receiver's fast path: releases the message it held and takes the next, or returns false when it must wait
    /// (<see cref="WaitAsync"/>).
    /// </summary>
    public bool TryReceive(out WibeSocketMessage message)
    {
        bool dequeued;
        lock (_gate)
        {
            ReleaseCurrentLocked();
            dequeued = TryDequeueLocked(out message);
        }

        if (dequeued && message.IsClose)
        {
            _owner.OnCloseDelivered();
        }

        return dequeued;
    }

    /// <summary>
    /// Waits for the next message. Honours <paramref name="cancellationToken"/> only once the queue is empty, so a close
    /// already queued wins over a cancellation signalled at the same moment.
    /// </summary>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    public async ValueTask<WibeSocketMessage> WaitAsync(CancellationToken cancellationToken, CancellationToken signalledByCompletion)
    {
        // A token the queue itself signals (the connection's own ConnectionClosed) needs no registration: an idle
        // handler waiting with it (the common case) then keeps no registration alive.
        using var registration = cancellationToken.CanBeCanceled && cancellationToken != signalledByCompletion
            ? cancellationToken.UnsafeRegister(static s => ((AsyncSignal)s!).Set(), _messageAvailable)
            : default;

        while (true)
        {
            bool dequeued;
            WibeSocketMessage message;
            lock (_gate)
            {
                dequeued = TryDequeueLocked(out message);

                // The connection went idle with the last message released: let the loop give its buffer back.
                if (!dequeued && _loopHoldsInPlaceBytes)
                {
                    WakeReadLoopLocked();
                }
            }

            if (dequeued)
            {
                if (message.IsClose)
                {
                    _owner.OnCloseDelivered();
                }

                return message;
            }

            cancellationToken.ThrowIfCancellationRequested();
            await _messageAvailable.WaitAsync().ConfigureAwait(false);
        }
    }

    /// <summary>Queues a parsed message (read loop only); the receiver is woken by <see cref="SignalIfEnqueued"/>.</summary>
    public void Enqueue(in PendingMessage message)
    {
        lock (_gate)
        {
            _pending.Enqueue(message);
            if (message.Owned is not null)
            {
                _ownedPendingBytes += message.Payload.Length;
            }
        }

        _enqueuedSinceSignal = true;
    }

    /// <summary>Wakes the receiver once for everything queued since the last call (read loop only).</summary>
    public void SignalIfEnqueued()
    {
        if (_enqueuedSinceSignal)
        {
            _enqueuedSinceSignal = false;
            _messageAvailable.Set();
        }
    }

    /// <summary>No more messages: the receiver gets a close message from now on.</summary>
    public void Complete()
    {
        lock (_gate)
        {
            _completed = true;
        }

        _messageAvailable.Set();
        Volatile.Read(ref _readAheadDrained)?.Set();
    }

    /// <summary>True (once) when the last cancelled read was the queue's own wake-up rather than the transport's.</summary>
    public bool ConsumeWakeRequest() => Interlocked.Exchange(ref _wakeRequested, 0) != 0;

    /// <summary>
    /// How far the read loop may consume the pipe: up to <paramref name="parsedAbs"/>, but not past the start of a
    /// message still borrowed in place (absolute offsets since the connection opened).
    /// </summary>
    public long ConsumableUpTo(long parsedAbs, out long ownedPendingBytes)
    {
        long target = parsedAbs;
        lock (_gate)
        {
            if (_current.InPlaceStart >= 0 && _current.Type != 0)
            {
                target = Math.Min(target, _current.InPlaceStart);
            }

            foreach (var pending in _pending)
            {
                if (pending.InPlaceStart >= 0)
                {
                    target = Math.Min(target, pending.InPlaceStart);
                    break;
                }
            }

            _loopHoldsInPlaceBytes = target < parsedAbs;
            ownedPendingBytes = _ownedPendingBytes;
        }

        return target;
    }

    /// <summary>Where the message the receiver holds starts in the pipe, or -1 when it holds none borrowed in place.</summary>
    public long HeldInPlaceStart()
    {
        lock (_gate)
        {
            return _current.Type != 0 && _current.InPlaceStart >= 0 ? _current.InPlaceStart : -1;
        }
    }

    /// <summary>
    /// Past the read-ahead budget the loop stops reading until the receiver takes a message; below it, pings and
    /// closes keep being answered while the handler is busy.
    /// </summary>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder))]
    public async ValueTask WaitForReadAheadAsync(long heldBytes)
    {
        if (heldBytes <= _maxReadAheadBytes)
        {
            return;
        }

        lock (_gate)
        {
            if (_pending.Count == 0 || _completed)
            {
                return;
            }

            _loopWaitsForDrain = true;
            _readAheadDrained ??= new AsyncSignal();
        }

        // Consumption only moves forward on the next read; the loop re-checks there.
        await _readAheadDrained.WaitAsync().ConfigureAwait(false);
    }

    /// <summary>Returns every owned buffer to the pool at the connection's end.</summary>
    public void ReleaseAll()
    {
        lock (_gate)
        {
            _current.Owned?.Dispose();
            _current = default;
            while (_pending.TryDequeue(out var pending))
            {
                pending.Owned?.Dispose();
            }
        }
    }

    private bool TryDequeueLocked(out WibeSocketMessage message)
    {
        if (_pending.TryDequeue(out var next))
        {
            _current = next;
            if (next.Owned is not null)
            {
                _ownedPendingBytes -= next.Payload.Length;
            }

            message = new WibeSocketMessage(next.Type, next.Payload, this, Generation);
            _metrics.MessageReceived(next.Type, next.Payload.Length);

            // A loop waiting for the read-ahead to drain may go on once nothing is queued: the message now held counts
            // against the budget only until the next one is queued. Waiting for its release instead would stall a
            // receiver that holds one message larger than the budget and then closes: the peer's close would never be read.
            if (_loopWaitsForDrain && _pending.Count == 0)
            {
                _loopWaitsForDrain = false;
                _readAheadDrained!.Set();
            }

            return true;
        }

        if (_completed)
        {
            message = new WibeSocketMessage(WibeSocketMessageType.Close, ReadOnlySequence<byte>.Empty, null, 0);
            return true;
        }

        message = default;
        return false;
    }

    private void ReleaseCurrentLocked()
    {
        if (_current.Type == 0)
        {
            return;
        }

        Advance();
        _current.Owned?.Dispose();
        _current = default;
        if (_loopWaitsForDrain)
        {
            _loopWaitsForDrain = false;
            _readAheadDrained!.Set();
        }
    }

    private void WakeReadLoopLocked()
    {
        _loopHoldsInPlaceBytes = false;
        Volatile.Write(ref _wakeRequested, 1);
        _input.CancelPendingRead();
    }
}

/// <summary>What the queue tells its connection: the receiver has been handed the close (so a deferred failure may go out).</summary>
internal interface IInboundOwner
{
    void OnCloseDelivered();
}
