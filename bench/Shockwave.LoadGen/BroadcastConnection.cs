using System.Buffers.Binary;
using System.Diagnostics;
using System.Net.Sockets;

namespace Shockwave.LoadGen;

/// <summary>What every broadcast connection shares: the message, the senders, the run's flags.</summary>
internal sealed class BroadcastPlan
{
    /// <summary>The first 16 payload bytes: sender index and sequence number (little-endian), then the send time.</summary>
    public const int MetaLength = 16;

    /// <summary>The low 48 bits of the first 8 bytes are the sequence number; the sender's index is above them.</summary>
    public const int SequenceBits = 48;

    /// <summary>The sequence number of a probe: the message that tells whether a receiver is registered yet.</summary>
    public const long ProbeSequence = (1L << SequenceBits) - 1;

    public const int MaxSenders = 1024;

    public required byte[] Payload { get; init; }        // the message as sent, but for its first 16 bytes
    public required byte[] Frame { get; init; }          // Payload in one masked binary frame
    public required int InFlight { get; init; }
    public required int Receivers { get; init; }
    public required int SampleEvery { get; init; }
    public required int ReceiveBufferSize { get; init; }
    public BroadcastSender[] Senders { get; set; } = [];
    public volatile bool Measuring;
    public volatile bool Stopping;
    private int _joined;

    /// <summary>Receivers that have got a probe, so the server knows them.</summary>
    public int Joined => Volatile.Read(ref _joined);

    public void Join() => Interlocked.Increment(ref _joined);
}

/// <summary>
/// The receiving side of one /broadcast connection: a receiver, or a sender's own connection (which must never get
/// its own messages back: the endpoint sends to every other connection). The stream is parsed in place. Every message's
/// length and type are checked, the bytes after the first 16 of a sample (every SampleEvery-th message, staggered across
/// receivers so that each message is checked by some), and the order per sender: a sequence number must be above the
/// previous one; one that skips counts the missing messages as gaps (dropped by the server) and releases their slots in
/// the sender's window, so a drop does not stall the run.
/// </summary>
internal sealed class BroadcastConnection(Socket socket, BroadcastPlan plan, int receiverIndex, BroadcastSender? sender)
{
    private static readonly double NanosPerTick = 1e9 / Stopwatch.Frequency;

    private readonly byte[] _receive = new byte[plan.ReceiveBufferSize];
    private readonly ServerFrameHeader _header = new();
    private readonly byte[] _meta = new byte[BroadcastPlan.MetaLength];
    private readonly long[] _expected = new long[plan.Senders.Length];
    private readonly int[] _completed = new int[plan.Senders.Length];
    private long _payloadLeft;
    private bool _frameFin;
    private bool _frameControl;
    private bool _inMessage;
    private bool _sampled;
    private bool _joined;
    private long _messageBytes;
    private long _messageIndex;
    private long _deliveries;
    private long _gaps;

    /// <summary>Per-delivery latency: from the send to this receiver's copy, measured window only.</summary>
    public Histogram Latency { get; } = new();
    public long Deliveries => Volatile.Read(ref _deliveries);
    public long Gaps => Volatile.Read(ref _gaps);
    public string? Error { get; private set; }

    public async Task RunAsync()
    {
        try
        {
            while (true)
            {
                int n = await socket.ReceiveAsync(_receive.AsMemory(), SocketFlags.None);
                if (n == 0)
                {
                    throw new IOException("the server closed the connection");
                }
                Parse(_receive.AsSpan(0, n), Stopwatch.GetTimestamp());
                // The messages this receive completed let their senders send as many more, one call per sender.
                for (int s = 0; s < _completed.Length; s++)
                {
                    if (_completed[s] > 0)
                    {
                        plan.Senders[s].RequestSends(_completed[s]);
                        _completed[s] = 0;
                    }
                }
            }
        }
        catch (Exception e) when (plan.Stopping && e is SocketException or ObjectDisposedException or IOException)
        {
        }
        catch (Exception e)
        {
            Error ??= e.Message;
        }
    }

    private void Parse(ReadOnlySpan<byte> data, long now)
    {
        int i = 0;
        while (i < data.Length)
        {
            if (_payloadLeft > 0)
            {
                int take = (int)Math.Min(_payloadLeft, data.Length - i);
                if (!_frameControl)
                {
                    Collect(data.Slice(i, take));
                }
                i += take;
                _payloadLeft -= take;
                if (_payloadLeft == 0)
                {
                    EndFrame(now);
                }
                continue;
            }

            if (!_header.Add(data[i++]))
            {
                continue;
            }

            StartFrame();
            _payloadLeft = _header.PayloadLength;
            if (_payloadLeft == 0)
            {
                EndFrame(now);
            }
        }
    }

    private void StartFrame()
    {
        int opcode = _header.Opcode;
        bool rsv1 = _header.Rsv1;
        _frameFin = _header.Fin;
        _frameControl = opcode >= 8;
        if (_frameControl)
        {
            if (opcode == 8)
            {
                throw new InvalidDataException("the server sent a close frame");
            }
            return; // pings and pongs: no keep-alive is due within a run; skipped
        }
        if (!_inMessage)
        {
            if (opcode != 0x2 || rsv1)
            {
                throw new InvalidDataException($"unexpected first frame: opcode {opcode}, rsv1 {rsv1} (sent binary, uncompressed)");
            }
            _inMessage = true;
            _messageBytes = 0;
            _sampled = (_messageIndex++ + receiverIndex) % plan.SampleEvery == 0;
        }
        else if (opcode != 0 || rsv1)
        {
            throw new InvalidDataException($"unexpected continuation frame: opcode {opcode}, rsv1 {rsv1}");
        }
    }

    /// <summary>Keeps the first 16 bytes of a message; compares the rest of a sampled one with what was sent.</summary>
    private void Collect(ReadOnlySpan<byte> chunk)
    {
        long end = _messageBytes + chunk.Length;
        if (end > plan.Payload.Length)
        {
            throw new InvalidDataException($"a message longer than the {plan.Payload.Length} bytes sent");
        }
        int offset = (int)_messageBytes;
        if (offset < BroadcastPlan.MetaLength)
        {
            int meta = Math.Min(BroadcastPlan.MetaLength - offset, chunk.Length);
            chunk[..meta].CopyTo(_meta.AsSpan(offset));
            chunk = chunk[meta..];
            offset += meta;
        }
        if (_sampled && !chunk.SequenceEqual(plan.Payload.AsSpan(offset, chunk.Length)))
        {
            throw new InvalidDataException("broadcast bytes differ from the message sent");
        }
        _messageBytes = end;
    }

    private void EndFrame(long now)
    {
        if (_frameControl || !_frameFin)
        {
            return;
        }
        _inMessage = false;
        if (_messageBytes != plan.Payload.Length)
        {
            throw new InvalidDataException($"a message of {_messageBytes} bytes, sent {plan.Payload.Length}");
        }

        ulong id = BinaryPrimitives.ReadUInt64LittleEndian(_meta);
        long sentAt = BinaryPrimitives.ReadInt64LittleEndian(_meta.AsSpan(8));
        int from = (int)(id >> BroadcastPlan.SequenceBits);
        long sequence = (long)(id & BroadcastPlan.ProbeSequence);
        if (from >= plan.Senders.Length)
        {
            throw new InvalidDataException($"a message from sender {from}, of {plan.Senders.Length}");
        }
        if (sender is not null)
        {
            // A sender's own connection: other senders' messages are not deliveries; its own must not come back.
            if (from == sender.Index)
            {
                throw new InvalidDataException("the server sent a message back to its sender");
            }
            return;
        }
        if (sequence == BroadcastPlan.ProbeSequence)
        {
            if (!_joined)
            {
                _joined = true;
                plan.Join();
            }
            return;
        }

        var source = plan.Senders[from];
        long expected = _expected[from];
        if (sequence < expected)
        {
            throw new InvalidDataException($"sender {from}'s message {sequence} arrived after message {expected - 1} (repeated or reordered)");
        }
        if (sequence - expected >= plan.InFlight)
        {
            throw new InvalidDataException($"sender {from}'s message {sequence} is beyond its window (expected {expected})");
        }
        for (long missing = expected; missing < sequence; missing++)
        {
            Volatile.Write(ref _gaps, _gaps + 1);
            if (source.Delivered(missing, sentAt, now, received: false))
            {
                _completed[from]++;
            }
        }
        _expected[from] = sequence + 1;
        if (source.Delivered(sequence, sentAt, now, received: true))
        {
            _completed[from]++;
        }
        if (plan.Measuring)
        {
            Latency.Record((long)((now - sentAt) * NanosPerTick));
        }
        Volatile.Write(ref _deliveries, _deliveries + 1);
    }
}
