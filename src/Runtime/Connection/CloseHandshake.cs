using Shockwave.Diagnostics;
using Shockwave.Protocol;

namespace Shockwave.Runtime;

/// <summary>
/// The close handshake's state machine (RFC 6455 section 7): Open, then CloseSent or CloseReceived, then Closed; or
/// Aborted from anywhere. It records who closed, with what status and why, and answers whether a handshake has
/// overrun its timeout. It writes nothing: the connection sends the frames a transition calls for.
/// </summary>
/// <remarks>Thread-safe: the read loop, the handler, the heartbeat and an abort all move it.</remarks>
internal sealed class CloseHandshake
{
    private readonly Lock _gate;
    private readonly TimeProvider _time;

    // The peer's close (or the end without it). A waiter is created only when CloseAsync waits: an idle connection
    // carries no task for it.
    private TaskCompletionSource? _peerCloseWaiter;
    private bool _peerCloseDone;

    // Written under _gate; read without it on the send path (volatile: every read sees the latest write).
    private volatile WibeSocketState _state = WibeSocketState.Open;
    private WebSocketCloseStatus? _status;
    private string? _description;
    private string _reason = CloseReasons.TransportEnded;
    private long _closeSentAt;
    private long _closeReceivedAt;
    private int _aborted;

    /// <param name="time">The connection's clock.</param>
    /// <param name="gate">The connection's one lock, shared by its parts: an idle connection pays for one lock object, not five.</param>
    public CloseHandshake(TimeProvider time, Lock gate)
    {
        _time = time;
        _gate = gate;
    }

    public WibeSocketState State => _state;

    /// <summary>True once the connection was aborted: every loop and pending write stops.</summary>
    public bool IsAborted => Volatile.Read(ref _aborted) != 0;

    public WebSocketCloseStatus? Status => _status;

    public string? Description => _description;

    /// <summary>Why the connection ended, as the metric tag and log lines name it (<see cref="CloseReasons"/>).</summary>
    public string Reason
    {
        get
        {
            lock (_gate)
            {
                return _reason;
            }
        }
    }

    /// <summary>Completes when the peer's close arrived, or the connection ended without it.</summary>
    public Task PeerCloseReceived
    {
        get
        {
            lock (_gate)
            {
                return _peerCloseDone
                    ? Task.CompletedTask
                    : (_peerCloseWaiter ??= new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).Task;
            }
        }
    }

    /// <summary>True once the peer's close arrived or the connection ended without it.</summary>
    public bool IsPeerCloseDone
    {
        get
        {
            lock (_gate)
            {
                return _peerCloseDone;
            }
        }
    }

    /// <summary>Sets the reason the connection ends with, unless a more specific one was recorded already.</summary>
    public void SetReasonIfUnset(string reason)
    {
        lock (_gate)
        {
            if (_reason == CloseReasons.TransportEnded)
            {
                _reason = reason;
            }
        }
    }

    /// <summary>Records a reason that overrides what was recorded (the handler failed, a protocol error).</summary>
    public void SetReason(string reason)
    {
        lock (_gate)
        {
            _reason = reason;
        }
    }

    /// <summary>Open to CloseSent: true when the caller must now send our close frame (section 7.1.2), once.</summary>
    public bool TryBeginClose(WebSocketCloseStatus? status, string? description, string reason)
    {
        lock (_gate)
        {
            if (_state != WibeSocketState.Open)
            {
                return false;
            }

            _state = WibeSocketState.CloseSent;
            _closeSentAt = _time.GetTimestamp();
            _status ??= status;
            _description ??= description;
            if (_reason == CloseReasons.TransportEnded)
            {
                _reason = reason;
            }

            return true;
        }
    }

    /// <summary>
    /// The peer's close arrived. True when it opened the handshake (Open to CloseReceived) and must be answered
    /// (section 5.5.1); false when it answered ours, which ends the handshake.
    /// </summary>
    public bool OnPeerClose(WebSocketCloseStatus? status, string? description, string reason)
    {
        bool reply;
        lock (_gate)
        {
            reply = _state == WibeSocketState.Open;
            if (reply)
            {
                _state = WibeSocketState.CloseReceived;
                _closeReceivedAt = _time.GetTimestamp();
                _status = status;
                _description = description;
                _reason = reason;
            }
        }

        SignalPeerClose();
        return reply;
    }

    /// <summary>Ends the handshake without the peer's close (a failed connection that lingered, an abort).</summary>
    public void StopWaitingForPeer() => SignalPeerClose();

    /// <summary>Both closes were exchanged: CloseSent or CloseReceived to Closed.</summary>
    public void MarkClosed()
    {
        lock (_gate)
        {
            if (_state is WibeSocketState.CloseReceived or WibeSocketState.CloseSent)
            {
                _state = WibeSocketState.Closed;
            }
        }
    }

    /// <summary>Moves to Aborted; true for the first caller only, who must tear the transport down.</summary>
    public bool TryAbort(string reason)
    {
        if (Interlocked.Exchange(ref _aborted, 1) != 0)
        {
            return false;
        }

        lock (_gate)
        {
            if (_state != WibeSocketState.Closed)
            {
                _state = WibeSocketState.Aborted;
                _reason = reason;
                _status ??= WebSocketCloseStatus.AbnormalClosure;
            }
        }

        SignalPeerClose();
        return true;
    }

    /// <summary>The connection ended: whatever is still in progress ends as Closed (both closes seen) or Aborted.</summary>
    public void Finish()
    {
        lock (_gate)
        {
            if (_state is WibeSocketState.CloseSent or WibeSocketState.CloseReceived or WibeSocketState.Open)
            {
                _state = _peerCloseDone && _closeSentAt != 0 ? WibeSocketState.Closed : WibeSocketState.Aborted;
            }
        }
    }

    private void SignalPeerClose()
    {
        TaskCompletionSource? waiter;
        lock (_gate)
        {
            _peerCloseDone = true;
            waiter = _peerCloseWaiter;
        }

        waiter?.TrySetResult();
    }

    /// <summary>
    /// True when a handshake in either direction has run past <paramref name="timeout"/>: after our close we wait for
    /// theirs, and after theirs our reply may be stuck behind a peer that stopped reading.
    /// </summary>
    public bool IsOverdue(long now, TimeSpan timeout)
    {
        lock (_gate)
        {
            return (_state == WibeSocketState.CloseSent && _time.GetElapsedTime(_closeSentAt, now) >= timeout)
                || (_state == WibeSocketState.CloseReceived && _time.GetElapsedTime(_closeReceivedAt, now) >= timeout);
        }
    }
}
