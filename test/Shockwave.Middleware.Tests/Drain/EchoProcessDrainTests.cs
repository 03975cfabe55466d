using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Net.WebSockets;
using System.Text;
using System.Text.RegularExpressions;
using Shockwave.Middleware.Tests.Support;
using Shockwave.Tests.Shared;
using Xunit.Abstractions;

namespace Shockwave.Middleware.Tests.Drain;

/// <summary>
/// samples/Echo as shipped, in its own process, stopped the way Kubernetes stops a pod: SIGTERM while 200 clients talk
/// to it. Each client sends a message and waits for its echo (the server's acknowledgement) before the next.
/// </summary>
public sealed class EchoProcessDrainTests(ITestOutputHelper output)
{
    private const int Clients = 200;
    private static readonly TimeSpan Window = TimeSpan.FromSeconds(20); // the sample's default drain window

    [Fact]
    public async Task Sigterm_FlipsReadiness_Refuses503_SpreadsCloses1012OverTheWindow_LosesNoAcknowledgedMessage_AndExitsZero()
    {
        using var echo = await EchoProcess.StartAsync();
        using var http = new HttpClient { BaseAddress = echo.BaseUri, Timeout = TimeSpan.FromSeconds(5) };
        Assert.Equal(HttpStatusCode.OK, (await http.GetAsync("/health/ready")).StatusCode);

        var sockets = new ClientWebSocket[Clients];
        for (int i = 0; i < Clients; i++)
        {
            sockets[i] = await ClientWebSocketExtensions.ConnectAsync(new Uri($"ws://127.0.0.1:{echo.Port}/echo"));
        }

        var clock = Stopwatch.StartNew();
        var terminated = new TaskCompletionSource<TimeSpan>(TaskCreationOptions.RunContinuationsAsynchronously);
        var talking = sockets.Select((socket, i) => TalkUntilClosedAsync(socket, i, clock, terminated.Task)).ToArray();
        await Task.Delay(500); // traffic flowing

        var sigterm = clock.Elapsed;
        echo.Terminate();
        terminated.SetResult(sigterm);

        // Readiness flips within a second of the signal.
        TimeSpan? readinessFlipped = null;
        while (clock.Elapsed - sigterm < TimeSpan.FromSeconds(3))
        {
            var ready = await http.GetAsync("/health/ready");
            if (ready.StatusCode == HttpStatusCode.ServiceUnavailable)
            {
                readinessFlipped = clock.Elapsed - sigterm;
                break;
            }

            await Task.Delay(20);
        }

        Assert.NotNull(readinessFlipped);
        Assert.True(readinessFlipped < TimeSpan.FromSeconds(1), $"readiness flipped after {readinessFlipped}");

        // An upgrade during the drain is refused with 503 and Retry-After.
        await using (var late = await RawWebSocketClient.OpenAsync(echo.Port))
        {
            var refused = await late.SendRequestAsync(RawWebSocketClient.BuildRequest(echo.Port, "/echo"));
            Assert.Equal(503, refused.StatusCode);
            Assert.NotNull(refused.Header("Retry-After"));
        }

        var results = await Task.WhenAll(talking).WaitAsync(Window + TimeSpan.FromSeconds(15));
        var exitCode = await echo.WaitForExitAsync(TimeSpan.FromSeconds(30));
        var exitedAfter = clock.Elapsed - sigterm;

        Assert.All(results, r => Assert.Null(r.Error));
        Assert.All(results, r => Assert.Equal((WebSocketCloseStatus)1012, r.CloseStatus));
        Assert.All(results, r => Assert.True(r.Acknowledged > 0, "every client had messages acknowledged before the drain"));
        var closedAt = results.Select(r => r.ClosedAt - sigterm).ToArray();
        Assert.All(closedAt, at => Assert.True(at <= Window + TimeSpan.FromSeconds(2), $"closed {at} after SIGTERM"));
        int inFirstSecond = closedAt.Count(at => at < TimeSpan.FromSeconds(1));
        Assert.True(inFirstSecond < Clients / 5, $"{inFirstSecond} of {Clients} closes in the first second");
        Assert.Contains(closedAt, at => at >= Window / 2);
        var histogram = closedAt.GroupBy(at => (int)(at.TotalSeconds / 2)).OrderBy(g => g.Key).Select(g => $"{g.Key * 2}-{(g.Key * 2) + 2}s: {g.Count()}");
        output.WriteLine($"readiness flipped {readinessFlipped!.Value.TotalMilliseconds:0} ms after SIGTERM; closes {string.Join(", ", histogram)}; exit code {exitCode} after {exitedAfter.TotalSeconds:0.0} s; acknowledged messages {results.Sum(r => r.Acknowledged)}");
        Assert.Equal(0, exitCode);
        Assert.True(exitedAfter < TimeSpan.FromSeconds(30), $"exited {exitedAfter} after SIGTERM");
    }

    private sealed record Outcome(int Acknowledged, WebSocketCloseStatus? CloseStatus, TimeSpan ClosedAt, string? Error);

    // Sends a numbered message, waits for its echo (checking it is that message), and goes on until the server closes.
    private static async Task<Outcome> TalkUntilClosedAsync(ClientWebSocket socket, int client, Stopwatch clock, Task<TimeSpan> terminated)
    {
        var buffer = new byte[256];
        int acknowledged = 0;
        try
        {
            while (true)
            {
                string text = $"{client}:{acknowledged}";
                await socket.SendAsync(Encoding.UTF8.GetBytes(text), WebSocketMessageType.Text, endOfMessage: true, CancellationToken.None);
                using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(40));
                var result = await socket.ReceiveAsync(buffer, timeout.Token);
                if (result.MessageType == WebSocketMessageType.Close)
                {
                    var at = clock.Elapsed;
                    await socket.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, null, CancellationToken.None);
                    return new Outcome(acknowledged, socket.CloseStatus, at, null);
                }

                string reply = Encoding.UTF8.GetString(buffer, 0, result.Count);
                if (reply != text)
                {
                    return new Outcome(acknowledged, null, clock.Elapsed, $"expected echo '{text}', got '{reply}'");
                }

                acknowledged++;
                await Task.Delay(terminated.IsCompleted ? 50 : 20);
            }
        }
        catch (Exception ex)
        {
            return new Outcome(acknowledged, socket.CloseStatus, clock.Elapsed, ex.GetType().Name + ": " + ex.Message);
        }
    }
}
