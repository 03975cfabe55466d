using System.Diagnostics;
using System.Globalization;
using System.Net.Sockets;
using System.Text.Json;

namespace Shockwave.LoadGen;

internal static class Modes
{
    /// <summary>A client using this much of one core or more was probably the limit, not the server.</summary>
    public const double ClientBoundCores = 0.9;

    private static readonly JsonSerializerOptions JsonOptions = new() { NumberHandling = System.Text.Json.Serialization.JsonNumberHandling.AllowNamedFloatingPointLiterals };

    public static async Task<int> EchoAsync(Options o)
    {
        byte[] payload = Frames.Payload(o);
        byte[] body = o.Deflate ? Frames.Deflate(payload, o.CompressionLevel) : payload;
        byte[] frame = Frames.Masked(o.Text ? 0x1 : 0x2, body, rsv1: o.Deflate);
        var batch = new byte[frame.Length * o.InFlight];
        for (int i = 0; i < o.InFlight; i++)
        {
            frame.CopyTo(batch, i * frame.Length);
        }
        var plan = new EchoPlan
        {
            Batch = batch,
            FrameLength = frame.Length,
            Payload = payload,
            Opcode = o.Text ? 0x1 : 0x2,
            InFlight = o.InFlight,
            Deflate = o.Deflate,
            SampleEvery = o.SampleEvery,
            ReceiveBufferSize = payload.Length >= 64 * 1024 ? 256 * 1024 : 32 * 1024,
        };

        byte[] request = Net.UpgradeRequest(o);
        var sockets = await OpenAsync(o, o.Connections, request, rate: 0);
        var connections = sockets.Select(s => new EchoConnection(s, plan)).ToArray();
        var runs = connections.Select(c => Task.Run(c.RunAsync)).ToArray();

        await Task.Delay(TimeSpan.FromSeconds(o.Warmup));
        var before = await ServerStats.FetchAsync(o, collect: false);
        plan.Measuring = true;
        long messages0 = connections.Sum(c => c.Messages);
        var cpu0 = Environment.CpuUsage.TotalTime;
        long t0 = Stopwatch.GetTimestamp();

        await Task.Delay(TimeSpan.FromSeconds(o.Duration));

        long messages1 = connections.Sum(c => c.Messages);
        var cpu1 = Environment.CpuUsage.TotalTime;
        double seconds = Stopwatch.GetElapsedTime(t0).TotalSeconds;
        plan.Measuring = false;
        var after = await ServerStats.FetchAsync(o, collect: false);

        plan.Stopping = true;
        foreach (var c in connections)
        {
            c.Socket.Dispose();
        }
        await Task.WhenAny(Task.WhenAll(runs), Task.Delay(5000));

        var latency = new Histogram();
        foreach (var c in connections)
        {
            latency.Add(c.Latency);
        }
        long messages = messages1 - messages0;
        var errors = connections.Where(c => c.Error is not null).Select(c => c.Error!).ToArray();
        double clientCpu = (cpu1 - cpu0).TotalSeconds / seconds;
        Emit(o, new()
        {
            ["mode"] = "echo",
            ["connections"] = o.Connections,
            ["inFlight"] = o.InFlight,
            ["size"] = o.Size,
            ["text"] = o.Text,
            ["deflate"] = o.Deflate,
            ["compressedSize"] = body.Length,
            ["seconds"] = Math.Round(seconds, 3),
            ["messages"] = messages,
            ["msgsPerSec"] = Math.Round(messages / seconds),
            ["mbPerSec"] = Math.Round(messages * (double)payload.Length / seconds / 1e6, 1),
            ["p50us"] = latency.PercentileMicros(50),
            ["p90us"] = latency.PercentileMicros(90),
            ["p99us"] = latency.PercentileMicros(99),
            ["p999us"] = latency.PercentileMicros(99.9),
            ["serverAllocPerMsg"] = messages == 0 ? double.NaN : Math.Round((after.AllocatedBytes - before.AllocatedBytes) / (double)messages, 2),
            ["serverCpu"] = Math.Round((after.CpuSeconds - before.CpuSeconds) / seconds, 2),
            ["clientCpu"] = Math.Round(clientCpu, 2),
            ["clientBound"] = clientCpu >= ClientBoundCores,
            ["errors"] = errors.Length,
            ["firstError"] = errors.FirstOrDefault(),
        });
        return errors.Length == 0 && messages > 0 ? 0 : 1;
    }

    public static async Task<int> BroadcastAsync(Options o)
    {
        byte[] payload = Frames.Payload(o);
        byte[] frame = Frames.Masked(0x2, payload);
        var plan = new BroadcastPlan
        {
            Payload = payload,
            Frame = frame,
            InFlight = o.InFlight,
            Receivers = o.Receivers,
            SampleEvery = o.SampleEvery,
            // Room for every sender's whole window in one receive; small, since there may be thousands of receivers.
            ReceiveBufferSize = (int)Math.Clamp((long)frame.Length * o.InFlight * o.Senders, 4 * 1024, 256 * 1024),
        };

        byte[] request = Net.UpgradeRequest(o);
        // Receivers first; the probes below then make sure the server has registered every one before anything counts.
        // Across nodes (--other-port), every other receiver is on the second node; the senders stay on the first.
        var receiverSockets = await OpenAsync(o, o.Receivers, request, rate: 0, o.OtherPort is { } other ? i => i % 2 == 1 ? other : o.Port : null);
        var senderSockets = await OpenAsync(o, o.Senders, request, rate: 0);
        var senders = senderSockets.Select((s, i) => new BroadcastSender(s, plan, i)).ToArray();
        plan.Senders = senders;
        var receivers = receiverSockets.Select((s, i) => new BroadcastConnection(s, plan, i, sender: null)).ToArray();
        var senderSides = senders.Select(s => new BroadcastConnection(s.Socket, plan, 0, s)).ToArray();
        var runs = receivers.Concat(senderSides).Select(c => Task.Run(c.RunAsync)).ToArray();

        // An upgraded connection may not be in the server's registry yet when its 101 arrives: probe until every
        // receiver has got one. A message sent after that reaches all of them, so any later gap is the server's.
        string? joinError = null;
        long joinStart = Stopwatch.GetTimestamp();
        while (plan.Joined < o.Receivers)
        {
            if (Stopwatch.GetElapsedTime(joinStart).TotalSeconds > 10)
            {
                joinError = $"only {plan.Joined} of {o.Receivers} receivers got a probe within 10 s: the server did not relay to them";
                break;
            }
            await senders[0].SendProbeAsync();
            await Task.Delay(20);
        }
        double joinSeconds = Stopwatch.GetElapsedTime(joinStart).TotalSeconds;

        long deliveries = 0, messages = 0;
        double seconds = 0, clientCpu = double.NaN, serverCpu = double.NaN, serverAlloc = double.NaN;
        if (joinError is null)
        {
            foreach (var sender in senders)
            {
                sender.Start();
            }
            await Task.Delay(TimeSpan.FromSeconds(o.Warmup));
            var before = await ServerStats.FetchAsync(o, collect: false);
            plan.Measuring = true;
            long deliveries0 = receivers.Sum(c => c.Deliveries);
            long messages0 = senders.Sum(s => s.Completed);
            var cpu0 = Environment.CpuUsage.TotalTime;
            long t0 = Stopwatch.GetTimestamp();

            await Task.Delay(TimeSpan.FromSeconds(o.Duration));

            deliveries = receivers.Sum(c => c.Deliveries) - deliveries0;
            messages = senders.Sum(s => s.Completed) - messages0;
            var cpu1 = Environment.CpuUsage.TotalTime;
            seconds = Stopwatch.GetElapsedTime(t0).TotalSeconds;
            plan.Measuring = false;
            var after = await ServerStats.FetchAsync(o, collect: false);
            clientCpu = (cpu1 - cpu0).TotalSeconds / seconds;
            serverCpu = (after.CpuSeconds - before.CpuSeconds) / seconds;
            serverAlloc = deliveries == 0 ? double.NaN : (after.AllocatedBytes - before.AllocatedBytes) / (double)deliveries;
        }

        plan.Stopping = true;
        foreach (var socket in receiverSockets.Concat(senderSockets))
        {
            socket.Dispose();
        }
        await Task.WhenAny(Task.WhenAll(runs), Task.Delay(5000));

        var fanOut = new Histogram();
        foreach (var sender in senders)
        {
            lock (sender.FanOut)
            {
                fanOut.Add(sender.FanOut);
            }
        }
        var delivery = new Histogram();
        foreach (var c in receivers)
        {
            delivery.Add(c.Latency);
        }
        long gaps = receivers.Sum(c => c.Gaps);
        var errors = new[] { joinError }.Concat(receivers.Concat(senderSides).Select(c => c.Error))
            .Concat(senders.Select(s => s.Error)).OfType<string>().ToArray();
        Emit(o, new()
        {
            ["mode"] = "broadcast",
            ["receivers"] = o.Receivers,
            ["nodes"] = o.OtherPort is null ? 1 : 2,
            ["senders"] = o.Senders,
            ["inFlight"] = o.InFlight,
            ["size"] = o.Size,
            ["joinSeconds"] = Math.Round(joinSeconds, 3),
            ["seconds"] = Math.Round(seconds, 3),
            ["deliveries"] = deliveries,
            ["deliveriesPerSec"] = seconds == 0 ? 0 : Math.Round(deliveries / seconds),
            ["messages"] = messages,
            ["msgsPerSec"] = seconds == 0 ? 0 : Math.Round(messages / seconds),
            ["mbPerSec"] = seconds == 0 ? 0 : Math.Round(deliveries * (double)payload.Length / seconds / 1e6, 1),
            ["p50us"] = fanOut.PercentileMicros(50),
            ["p90us"] = fanOut.PercentileMicros(90),
            ["p99us"] = fanOut.PercentileMicros(99),
            ["p999us"] = fanOut.PercentileMicros(99.9),
            ["deliveryP50us"] = delivery.PercentileMicros(50),
            ["deliveryP99us"] = delivery.PercentileMicros(99),
            ["gaps"] = gaps,
            ["serverAllocPerDelivery"] = Math.Round(serverAlloc, 2),
            ["serverCpu"] = Math.Round(serverCpu, 2),
            ["clientCpu"] = Math.Round(clientCpu, 2),
            // Deliveries per second of the load generator's own CPU: about where it would saturate on one core.
            ["clientCeilingPerSec"] = Math.Round(deliveries / (clientCpu * seconds)),
            ["clientBound"] = clientCpu >= ClientBoundCores,
            ["errors"] = errors.Length,
            ["firstError"] = errors.FirstOrDefault(),
        });
        return errors.Length == 0 && gaps == 0 && deliveries > 0 ? 0 : 1;
    }

    public static async Task<int> IdleAsync(Options o)
    {
        byte[] request = Net.UpgradeRequest(o);

        // Warm the server's upgrade path (JIT, pools) so the baseline is not flattered by code loaded later.
        var warm = await OpenAsync(o, Math.Min(200, o.Connections), request, rate: 0);
        foreach (var s in warm)
        {
            s.Dispose();
        }
        await Task.Delay(1000);

        var baseline = await ServerStats.FetchAsync(o, collect: true);
        long t0 = Stopwatch.GetTimestamp();
        var sockets = await OpenAsync(o, o.Connections, request, o.Rate);
        double openSeconds = Stopwatch.GetElapsedTime(t0).TotalSeconds;
        await Task.Delay(TimeSpan.FromSeconds(o.Hold));
        var held = await ServerStats.FetchAsync(o, collect: true);
        int open = sockets.Count(s => IsOpen(s));
        foreach (var s in sockets)
        {
            s.Dispose();
        }

        double n = o.Connections;
        Emit(o, new()
        {
            ["mode"] = "idle",
            ["connections"] = o.Connections,
            ["stillOpen"] = open,
            ["openSeconds"] = Math.Round(openSeconds, 2),
            ["baselineRssMiB"] = Math.Round(baseline.RssBytes / 1048576.0, 1),
            ["heldRssMiB"] = Math.Round(held.RssBytes / 1048576.0, 1),
            ["rssKiBPerConn"] = Math.Round((held.RssBytes - baseline.RssBytes) / n / 1024, 2),
            ["gcHeapKiBPerConn"] = Math.Round((held.GcHeapBytes - baseline.GcHeapBytes) / n / 1024, 2),
            ["errors"] = o.Connections - open,
        });
        return open == o.Connections ? 0 : 1;
    }

    private static bool IsOpen(Socket s)
    {
        try
        {
            // Readable with nothing to read means the peer closed; an idle open connection is not readable.
            return !(s.Poll(0, SelectMode.SelectRead) && s.Available == 0);
        }
        catch (SocketException)
        {
            return false;
        }
    }

    public static async Task<int> ConnectAsync(Options o)
    {
        byte[] request = Net.UpgradeRequest(o);
        byte[] close = Frames.Close();
        long completed = 0, errors = 0;
        int index = 0;
        string? firstError = null;
        bool measuring = false;
        var deadline = Stopwatch.GetTimestamp() + (long)((o.Warmup + o.Duration) * Stopwatch.Frequency);

        async Task Worker()
        {
            var buffer = new byte[256];
            while (Stopwatch.GetTimestamp() < deadline)
            {
                try
                {
                    using var socket = await Net.ConnectAsync(o, Net.Source(o, Interlocked.Increment(ref index)), request, CancellationToken.None);
                    await socket.SendAsync(close, SocketFlags.None);
                    // The server's close frame (88 02 03 E8), then its end of the TCP connection.
                    int total = 0, n;
                    while ((n = await socket.ReceiveAsync(buffer.AsMemory(Math.Min(total, buffer.Length - 1)), SocketFlags.None)) > 0)
                    {
                        total += n;
                    }
                    if (total < 2 || buffer[0] != 0x88)
                    {
                        throw new InvalidDataException("no close frame from the server");
                    }
                    if (Volatile.Read(ref measuring))
                    {
                        Interlocked.Increment(ref completed);
                    }
                }
                catch (Exception e) when (e is SocketException or IOException or InvalidDataException)
                {
                    Interlocked.Increment(ref errors);
                    firstError ??= e.Message;
                }
            }
        }

        var workers = Enumerable.Range(0, o.Concurrency).Select(_ => Task.Run(Worker)).ToArray();
        await Task.Delay(TimeSpan.FromSeconds(o.Warmup));
        Volatile.Write(ref measuring, true);
        var cpu0 = Environment.CpuUsage.TotalTime;
        long t0 = Stopwatch.GetTimestamp();
        await Task.Delay(TimeSpan.FromSeconds(o.Duration));
        Volatile.Write(ref measuring, false);
        long done = Interlocked.Read(ref completed);
        double seconds = Stopwatch.GetElapsedTime(t0).TotalSeconds;
        double clientCpu = (Environment.CpuUsage.TotalTime - cpu0).TotalSeconds / seconds;
        await Task.WhenAll(workers);
        Emit(o, new()
        {
            ["mode"] = "connect",
            ["concurrency"] = o.Concurrency,
            ["seconds"] = Math.Round(seconds, 3),
            ["connects"] = done,
            ["connectsPerSec"] = Math.Round(done / seconds),
            ["clientCpu"] = Math.Round(clientCpu, 2),
            ["clientBound"] = clientCpu >= ClientBoundCores,
            ["errors"] = errors,
            ["firstError"] = firstError,
        });
        return errors == 0 && done > 0 ? 0 : 1;
    }

    /// <summary>Opens <paramref name="count"/> upgraded connections, at most <paramref name="rate"/> per second (0: as fast as they go).</summary>
    private static async Task<Socket[]> OpenAsync(Options o, int count, byte[] request, int rate, Func<int, int>? portOf = null)
    {
        var sockets = new Socket[count];
        using var gate = new SemaphoreSlim(Math.Max(1, o.Concurrency));
        var tasks = new List<Task>(count);
        long start = Stopwatch.GetTimestamp();
        for (int i = 0; i < count; i++)
        {
            if (rate > 0)
            {
                double due = i / (double)rate;
                double now = Stopwatch.GetElapsedTime(start).TotalSeconds;
                if (due > now + 0.002)
                {
                    await Task.Delay(TimeSpan.FromSeconds(due - now));
                }
            }
            await gate.WaitAsync();
            int index = i;
            tasks.Add(Task.Run(async () =>
            {
                try
                {
                    sockets[index] = await Net.ConnectAsync(o, Net.Source(o, index), request, CancellationToken.None, portOf?.Invoke(index));
                }
                finally
                {
                    gate.Release();
                }
            }));
        }
        await Task.WhenAll(tasks);
        return sockets;
    }

    private static void Emit(Options o, Dictionary<string, object?> result)
    {
        result["label"] = o.Label;
        string json = JsonSerializer.Serialize(result, JsonOptions);
        Console.WriteLine(json);
        Console.Error.WriteLine(string.Join(' ', result.Where(kv => kv.Key != "label").Select(kv => string.Create(CultureInfo.InvariantCulture, $"{kv.Key}={kv.Value}"))));
    }
}
