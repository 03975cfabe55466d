using Microsoft.AspNetCore.TestHost;

namespace Shockwave.Testing.Tests;

[Collection(TestAppCollection.Name)]
public class LifetimeTests(TestApp app)
{
    [Fact]
    public async Task WaitForServerToFinish_SurfacesTheExceptionTheAppThrewAfterThe101()
    {
        await using var connection = await app.Server.CreateWibeSocketClient().ConnectRawAsync("/throw-after-upgrade");

        Assert.Equal("about to fail", (await connection.ReceiveAsync()).Text);
        var ex = await Assert.ThrowsAsync<InvalidOperationException>(() => connection.WaitForServerToFinishAsync());
        Assert.Equal("failed after the 101", ex.Message);

        // Kestrel closes the connection when the app returns; so does the in-memory one.
        var eof = await Assert.ThrowsAsync<EndOfStreamException>(() => connection.ReceiveFrameAsync());
        Assert.IsType<InvalidOperationException>(eof.InnerException);
    }

    [Fact]
    public async Task AfterUpgrade_BodyWritesThrowAndSecondUpgradeThrows_LikeKestrel()
    {
        await using var connection = await app.Server.CreateWibeSocketClient().ConnectAsync("/after-upgrade");

        Assert.Equal(
            "InvalidOperationException|InvalidOperationException|InvalidOperationException|Upgrade",
            (await connection.ReceiveAsync()).Text);
    }

    [Fact]
    public async Task Receive_SilentServer_TimesOutWithTheOperationNamed()
    {
        var client = app.Server.CreateWibeSocketClient();
        client.Timeout = TimeSpan.FromMilliseconds(150);
        await using var connection = await client.ConnectAsync("/echo");

        var ex = await Assert.ThrowsAsync<TimeoutException>(() => connection.ReceiveAsync());
        Assert.Contains("Receiving a message", ex.Message);
    }

    [Fact]
    public async Task Receive_Cancelled_ConnectionStaysUsable()
    {
        await using var connection = await app.Server.CreateWibeSocketClient().ConnectAsync("/echo");

        using (var cts = new CancellationTokenSource(TimeSpan.FromMilliseconds(100)))
        {
            var ex = await Assert.ThrowsAnyAsync<OperationCanceledException>(() => connection.ReceiveAsync(cts.Token));
            Assert.Equal(cts.Token, ex.CancellationToken);
        }

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => connection.ReceiveAsync(new CancellationToken(canceled: true)));

        await connection.SendTextAsync("still here");
        Assert.Equal("still here", (await connection.ReceiveAsync()).Text);
    }

    [Fact]
    public async Task Receive_CancelledMidFrame_ResumesWhereItStopped()
    {
        await using var connection = await app.Server.CreateWibeSocketClient().ConnectAsync("/server-frames?kind=slow");

        // Half the frame has arrived; the rest comes only after the client asks for it.
        using (var cts = new CancellationTokenSource(TimeSpan.FromMilliseconds(100)))
        {
            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => connection.ReceiveAsync(cts.Token));
        }

        await connection.SendTextAsync("more");
        Assert.Equal("halves", (await connection.ReceiveAsync()).Text);
    }

    [Fact]
    public async Task Receive_Overlapping_Throws()
    {
        await using var connection = await app.Server.CreateWibeSocketClient().ConnectAsync("/echo");

        var first = connection.ReceiveAsync();
        await Assert.ThrowsAsync<InvalidOperationException>(() => connection.ReceiveAsync());

        await connection.SendTextAsync("for the first");
        Assert.Equal("for the first", (await first).Text);
    }

    [Fact]
    public async Task Dispose_AbortsTheRequestAndEndsTheAppsReads()
    {
        string id = Guid.NewGuid().ToString();
        var connection = await app.Server.CreateWibeSocketClient().ConnectAsync($"/wait-abort?id={id}");

        await connection.DisposeAsync();

        Assert.Equal("aborted, read 0", await app.Signal(id).Task.WaitAsync(TimeSpan.FromSeconds(5)));
        await Assert.ThrowsAsync<ObjectDisposedException>(() => connection.ReceiveAsync());
        await connection.DisposeAsync();
    }

    [Fact]
    public async Task Dispose_EndsAPendingReceive()
    {
        var connection = await app.Server.CreateWibeSocketClient().ConnectAsync("/echo");
        var pending = connection.ReceiveAsync();

        await connection.DisposeAsync();

        await Assert.ThrowsAsync<ObjectDisposedException>(() => pending);
    }

    [Fact]
    public async Task Raw_Receive_CancelledMidFrame_ResumesWhereItStopped()
    {
        await using var connection = await app.Server.CreateWibeSocketClient().ConnectRawAsync("/server-frames?kind=slow");

        // The frame reader has consumed the header and part of the payload; the rest comes after the client's frame.
        using (var cts = new CancellationTokenSource(TimeSpan.FromMilliseconds(100)))
        {
            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => connection.ReceiveAsync(cts.Token));
        }

        await Assert.ThrowsAsync<InvalidOperationException>(() => connection.ReceiveFrameAsync());
        await connection.SendTextAsync("more");
        Assert.Equal("halves", (await connection.ReceiveAsync()).Text);
    }

    [Fact]
    public async Task Raw_Dispose_EndsAPendingReceiveAndTheAppsReads()
    {
        string id = Guid.NewGuid().ToString();
        var connection = await app.Server.CreateWibeSocketClient().ConnectRawAsync($"/wait-abort?id={id}");
        var pending = connection.ReceiveAsync();

        await connection.DisposeAsync();

        await Assert.ThrowsAsync<ObjectDisposedException>(() => pending);
        Assert.Equal("aborted, read 0", await app.Signal(id).Task.WaitAsync(TimeSpan.FromSeconds(5)));
    }
}
