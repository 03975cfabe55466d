using System.Buffers;
using System.Buffers.Binary;
using System.Diagnostics;
using System.Net.Sockets;

namespace Shockwave.LoadGen;

/// <summary>What every echo connection shares: the pre-masked frames, the expected payload, the run's flags.</summary>
internal sealed class EchoPlan
{
    public required byte[] Batch { get; init; }          // InFlight copies of the one masked frame, back to back
    public required int FrameLength { get; init; }
    public required byte[] Payload { get; init; }        // the uncompressed message expected back
    public required int Opcode { get; init; }
    public required int InFlight { get; init; }
    public required bool Deflate { get; init; }
    public required int SampleEvery { get; init; }
    public required int ReceiveBufferSize { get; init; }
    public volatile bool Measuring;
    public volatile bool Stopping;
}

/// <summary>
/// One echo connection: keeps InFlight messages outstanding, and for every echo completed sends one more (all the
/// echoes completed by one receive go out as one send of pre-built bytes). The echo stream is parsed in place; lengths
/// and opcodes are checked for every message, the bytes of every SampleEvery-th (inflated first with deflate).
/// </summary>
internal sealed class EchoConnection(Socket socket, EchoPlan plan)
{
    private static readonly double NanosPerTick = 1e9 / Stopwatch.Frequency;

    private readonly byte[] _receive = new byte[plan.ReceiveBufferSize];
    private readonly long[] _sentAt = new long[plan.InFlight];
    private readonly ServerFrameHeader _header = new();
    private readonly ArrayBufferWriter<byte> _compressed = new();
    private long _head;
    private long _tail;
    private int _pendingSends;
    private long _payloadLeft;
    private bool _frameFin;
    private bool _frameControl;
    private bool _inMessage;
    private bool _sampled;
    private long _messageBytes;
    private long _messageIndex;
    private long _messages;

    public Histogram Latency { get; } = new();
    public long Messages => Volatile.Read(ref _messages);
    public string? Error { get; private set; }
    public Socket Socket => socket;

    public async Task RunAsync()
    {
        try
        {
            RequestSends(plan.InFlight);
            while (true)
            {
                int n = await socket.ReceiveAsync(_receive.AsMemory(), SocketFlags.None);
                if (n == 0)
                {
                    throw new IOException("the server closed the connection");
                }
                int completed = Parse(_receive.AsSpan(0, n), Stopwatch.GetTimestamp());
                if (completed > 0 && !plan.Stopping)
                {
                    RequestSends(completed);
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

    private void RequestSends(int count)
    {
        // Whoever takes the count from 0 runs the send loop; it drains whatever accumulates while it sends.
        if (Interlocked.Add(ref _pendingSends, count) == count)
        {
            _ = SendLoopAsync(count);
        }
    }

    // Allocates only when a send does not complete at once (loopback sends of small batches do).
    private async Task SendLoopAsync(int count)
    {
        try
        {
            while (true)
            {
                long now = Stopwatch.GetTimestamp();
                for (int i = 0; i < count; i++)
                {
                    _sentAt[(_tail + i) % _sentAt.Length] = now;
                }
                _tail += count;
                await socket.SendAsync(plan.Batch.AsMemory(0, count * plan.FrameLength), SocketFlags.None);
                int left = Interlocked.Add(ref _pendingSends, -count);
                if (left == 0 || plan.Stopping)
                {
                    return;
                }
                count = Math.Min(left, plan.InFlight);
            }
        }
        catch (Exception e) when (plan.Stopping && e is SocketException or ObjectDisposedException or IOException)
        {
        }
        catch (Exception e)
        {
            Error ??= e.Message;
            socket.Dispose();
        }
    }

    private int Parse(ReadOnlySpan<byte> data, long now)
    {
        int completed = 0;
        int i = 0;
        while (i < data.Length)
        {
            if (_payloadLeft > 0)
            {
                int take = (int)Math.Min(_payloadLeft, data.Length - i);
                if (!_frameControl)
                {
                    if (_sampled)
                    {
                        CheckChunk(data.Slice(i, take));
                    }
                    _messageBytes += take;
                }
                i += take;
                _payloadLeft -= take;
                if (_payloadLeft == 0)
                {
                    completed += EndFrame(now);
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
                completed += EndFrame(now);
            }
        }
        return completed;
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
            if (opcode != plan.Opcode || rsv1 != plan.Deflate)
            {
                throw new InvalidDataException($"unexpected first frame: opcode {opcode}, rsv1 {rsv1}");
            }
            _inMessage = true;
            _messageBytes = 0;
            _sampled = _messageIndex++ % plan.SampleEvery == 0;
            _compressed.ResetWrittenCount();
        }
        else if (opcode != 0 || rsv1)
        {
            throw new InvalidDataException($"unexpected continuation frame: opcode {opcode}, rsv1 {rsv1}");
        }
    }

    private void CheckChunk(ReadOnlySpan<byte> chunk)
    {
        if (plan.Deflate)
        {
            _compressed.Write(chunk);
        }
        else if (_messageBytes + chunk.Length > plan.Payload.Length
            || !chunk.SequenceEqual(plan.Payload.AsSpan((int)_messageBytes, chunk.Length)))
        {
            throw new InvalidDataException("echoed bytes differ from the message sent");
        }
    }

    private int EndFrame(long now)
    {
        if (_frameControl || !_frameFin)
        {
            return 0;
        }
        _inMessage = false;
        if (plan.Deflate)
        {
            if (_sampled && !Frames.Inflate(_compressed.WrittenSpan).AsSpan().SequenceEqual(plan.Payload))
            {
                throw new InvalidDataException("the inflated echo differs from the message sent");
            }
        }
        else if (_messageBytes != plan.Payload.Length)
        {
            throw new InvalidDataException($"echo of {_messageBytes} bytes, sent {plan.Payload.Length}");
        }
        long sentAt = _sentAt[_head % _sentAt.Length];
        _head++;
        if (plan.Measuring)
        {
            Latency.Record((long)((now - sentAt) * NanosPerTick));
        }
        Volatile.Write(ref _messages, _messages + 1);
        return 1;
    }
}
