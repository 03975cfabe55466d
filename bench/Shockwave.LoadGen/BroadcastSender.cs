using System.Buffers.Binary;
using System.Diagnostics;
using System.Net.Sockets;

namespace Shockwave.LoadGen;

/// <summary>
/// One broadcast sender. It keeps at most InFlight messages that have not yet reached every receiver: a message is
/// done when the last receiver reports it (<see cref="Delivered"/>), and each message done lets one more go. Counting
/// per message rather than per receiver keeps the run closed-loop for the whole audience: the sender runs at the pace
/// of the slowest receiver, as a fan-out does, and the server never has more than InFlight messages queued for any
/// receiver. Messages are built from one pre-masked frame; only the first 16 payload bytes (sender and sequence number,
/// send time) are written and masked per message, and all the messages due at once go out as one send.
/// </summary>
internal sealed class BroadcastSender
{
    private static readonly double NanosPerTick = 1e9 / Stopwatch.Frequency;

    private readonly Socket _socket;
    private readonly BroadcastPlan _plan;
    private readonly byte[] _batch;
    private readonly int _headerLength;
    private readonly int[] _remaining;
    private long _next;
    private int _pendingSends;
    private long _completed;

    public BroadcastSender(Socket socket, BroadcastPlan plan, int index)
    {
        _socket = socket;
        _plan = plan;
        Index = index;
        _headerLength = plan.Frame.Length - plan.Payload.Length;
        _remaining = new int[plan.InFlight];
        _batch = new byte[plan.Frame.Length * plan.InFlight];
        for (int i = 0; i < plan.InFlight; i++)
        {
            plan.Frame.CopyTo(_batch, i * plan.Frame.Length);
        }
    }

    public int Index { get; }

    public Socket Socket => _socket;

    /// <summary>Fan-out latency: from the send to the last receiver's delivery, measured window only. Locked on itself.</summary>
    public Histogram FanOut { get; } = new();

    /// <summary>Messages every receiver has got (or, for gaps, has gone past).</summary>
    public long Completed => Volatile.Read(ref _completed);

    public string? Error { get; private set; }

    public void Start() => RequestSends(_plan.InFlight);

    /// <summary>One probe message (sequence number <see cref="BroadcastPlan.ProbeSequence"/>): receivers that get it are known to be registered.</summary>
    public async Task SendProbeAsync()
    {
        byte[] frame = (byte[])_plan.Frame.Clone();
        WriteMeta(frame.AsSpan(_headerLength, BroadcastPlan.MetaLength), BroadcastPlan.ProbeSequence, Stopwatch.GetTimestamp());
        await _socket.SendAsync(frame, SocketFlags.None);
    }

    /// <summary>
    /// A receiver got message <paramref name="sequence"/> (<paramref name="received"/>) or went past it (a gap).
    /// True when that was the message's last outstanding receiver: the caller then asks for one more send.
    /// </summary>
    public bool Delivered(long sequence, long sentAt, long now, bool received)
    {
        if (Interlocked.Decrement(ref _remaining[sequence % _remaining.Length]) != 0)
        {
            return false;
        }
        Interlocked.Increment(ref _completed);
        if (received && _plan.Measuring)
        {
            lock (FanOut)
            {
                FanOut.Record((long)((now - sentAt) * NanosPerTick));
            }
        }
        return true;
    }

    public void RequestSends(int count)
    {
        // Whoever takes the count from 0 runs the send loop; it drains whatever accumulates while it sends.
        if (!_plan.Stopping && Interlocked.Add(ref _pendingSends, count) == count)
        {
            _ = SendLoopAsync(count);
        }
    }

    // Allocates only when a send does not complete at once.
    private async Task SendLoopAsync(int count)
    {
        try
        {
            int frameLength = _plan.Frame.Length;
            while (true)
            {
                long now = Stopwatch.GetTimestamp();
                for (int i = 0; i < count; i++)
                {
                    long sequence = _next++;
                    // Armed before the bytes leave: no receiver can report this message earlier. The slot is free,
                    // since message sequence - InFlight is done (that is what allowed this send).
                    Volatile.Write(ref _remaining[sequence % _remaining.Length], _plan.Receivers);
                    WriteMeta(_batch.AsSpan((i * frameLength) + _headerLength, BroadcastPlan.MetaLength), sequence, now);
                }
                await _socket.SendAsync(_batch.AsMemory(0, count * frameLength), SocketFlags.None);
                int left = Interlocked.Add(ref _pendingSends, -count);
                if (left == 0 || _plan.Stopping)
                {
                    return;
                }
                count = Math.Min(left, _plan.InFlight);
            }
        }
        catch (Exception e) when (_plan.Stopping && e is SocketException or ObjectDisposedException or IOException)
        {
        }
        catch (Exception e)
        {
            Error ??= e.Message;
            _socket.Dispose();
        }
    }

    /// <summary>Writes the masked sender, sequence number and send time over the first 16 payload bytes of a frame.</summary>
    private void WriteMeta(Span<byte> maskedPayload, long sequence, long sentAt)
    {
        Span<byte> meta = stackalloc byte[BroadcastPlan.MetaLength];
        BinaryPrimitives.WriteUInt64LittleEndian(meta, ((ulong)Index << BroadcastPlan.SequenceBits) | (ulong)sequence);
        BinaryPrimitives.WriteInt64LittleEndian(meta[8..], sentAt);
        Frames.Mask(meta, maskedPayload, payloadOffset: 0);
    }
}
