using System.Net.WebSockets;
using Shockwave.Tests.Shared;

namespace Shockwave.Middleware.Tests.Integration;

/// <summary>samples/Echo logs as the web template does in production, wherever it is started from.</summary>
public sealed class EchoSampleLoggingTests
{
    [Fact]
    public async Task Started_from_another_directory_it_still_logs_nothing_per_request_or_connection()
    {
        // A benchmark or a container starts the built dll from its own directory. The content root then used to be that
        // directory, appsettings.json was not found, and every request was logged at Information.
        var elsewhere = Directory.CreateTempSubdirectory("shockwave-echo-cwd-").FullName;
        try
        {
            using var echo = await EchoProcess.StartAsync(workingDirectory: elsewhere);
            using (var http = new HttpClient { BaseAddress = echo.BaseUri })
            {
                for (var i = 0; i < 3; i++)
                {
                    Assert.StartsWith("Shockwave echo sample", await http.GetStringAsync("/"));
                }
            }

            using (var client = new ClientWebSocket())
            {
                await client.ConnectAsync(new Uri($"ws://127.0.0.1:{echo.Port}/echo"), CancellationToken.None);
                await client.SendAsync("hi"u8.ToArray(), WebSocketMessageType.Text, true, CancellationToken.None);
                var buffer = new byte[8];
                Assert.Equal(2, (await client.ReceiveAsync(buffer, CancellationToken.None)).Count);
                await client.CloseAsync(WebSocketCloseStatus.NormalClosure, null, CancellationToken.None);
            }

            await Task.Delay(300); // the last lines reach the output
            var perRequest = echo.Output.Where(line =>
                line.Contains("Request starting", StringComparison.Ordinal) ||
                line.Contains("Executing endpoint", StringComparison.Ordinal) ||
                line.Contains("Request finished", StringComparison.Ordinal)).ToList();
            Assert.True(perRequest.Count == 0, "logged per request: " + string.Join(" | ", perRequest));
        }
        finally
        {
            Directory.Delete(elsewhere, recursive: true);
        }
    }
}
