using System.Buffers;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.Extensions.Logging;
using Shockwave.Middleware.Tests.Support;
using Shockwave.Protocol;
using Shockwave.Testing;

namespace Shockwave.Middleware.Tests.TestServerTests;

/// <summary>samples/Echo in memory through WebApplicationFactory's TestServer, with its log lines captured.</summary>
public sealed class EchoSampleFactory : IAsyncLifetime
{
    private WebApplicationFactory<Program>? _factory;

    internal TestLoggerProvider Logs { get; } = new();

    internal WibeSocketTestClient CreateClient() => _factory!.CreateWibeSocketClient();

    internal HttpClient CreateHttpClient() => _factory!.CreateClient();

    internal IServiceProvider Services => _factory!.Services;

    public Task InitializeAsync()
    {
        _factory = new WebApplicationFactory<Program>().WithWebHostBuilder(web => web.ConfigureLogging(logging =>
        {
            logging.ClearProviders();
            logging.AddProvider(Logs);
            logging.AddFilter<TestLoggerProvider>(TestLoggerProvider.WibeSocketCategory, LogLevel.Debug);
        }));
        return Task.CompletedTask;
    }

    public async Task DisposeAsync()
    {
        if (_factory is not null)
        {
            await _factory.DisposeAsync();
        }
    }
}

/// <summary>
/// The echo behaviours of the Kestrel tests, through the TestServer client: the runtime runs on pipes over the
/// in-memory upgrade stream (the fallback path) and must behave the same.
/// </summary>
public sealed class EchoSampleInMemoryTests(EchoSampleFactory factory) : IClassFixture<EchoSampleFactory>
{
    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(125)]
    [InlineData(126)]
    [InlineData(65535)]
    [InlineData(65536)]
    [InlineData(1 << 20)]
    public async Task Echo_ReturnsTheSameMessage(int size)
    {
        await using var connection = await factory.CreateClient().ConnectAsync("/echo");
        string text = new('t', size);
        byte[] binary = new byte[size];
        Random.Shared.NextBytes(binary);

        await connection.SendTextAsync(text);
        var echoedText = await connection.ReceiveAsync();
        await connection.SendBinaryAsync(binary);
        var echoedBinary = await connection.ReceiveAsync();

        Assert.Equal(WibeSocketMessageType.Text, echoedText.Type);
        Assert.Equal(text, echoedText.Text);
        Assert.Equal(WibeSocketMessageType.Binary, echoedBinary.Type);
        Assert.True(binary.AsSpan().SequenceEqual(echoedBinary.Payload.Span), "The echoed binary payload differs.");
        var close = await connection.CloseAsync(WebSocketCloseStatus.NormalClosure);
        Assert.Equal(WebSocketCloseStatus.NormalClosure, close.CloseStatus);
    }

    // The portable path: TestServer has no connection transport, so the runtime must say upgrade-stream.
    [Fact]
    public async Task Connection_TakesTheUpgradeStreamPath()
    {
        await using var connection = await factory.CreateClient().ConnectAsync("/echo");
        await connection.SendTextAsync("which path?");
        Assert.Equal("which path?", (await connection.ReceiveAsync()).Text);

        var opened = await factory.Logs.WaitForEventAsync(1);
        Assert.Equal("upgrade-stream", opened.Value("Transport"));
        await connection.CloseAsync();
    }

    // R6455-5.5.1-d, R6455-7.4: the close code comes back, application codes included.
    [Theory]
    [InlineData(1000)]
    [InlineData(3001)]
    [InlineData(4999)]
    public async Task ClientClose_ServerEchoesTheCode(int code)
    {
        await using var connection = await factory.CreateClient().ConnectAsync("/echo");

        var close = await connection.CloseAsync((WebSocketCloseStatus)code, "bye");

        Assert.Equal((WebSocketCloseStatus)code, close.CloseStatus);
        await connection.WaitForServerToFinishAsync();
    }

    // R6455-5.4-d, R6455-5.5.3-a: a ping between fragments is answered with its payload; the message comes back whole.
    [Fact]
    public async Task FragmentsWithPingBetween_PongThenWholeMessage()
    {
        await using var connection = await factory.CreateClient().ConnectRawAsync("/echo");

        await connection.SendFrameAsync(WebSocketOpcode.Binary, fin: false, new byte[] { 1, 2 });
        await connection.PingAsync("between"u8.ToArray());
        await connection.SendFrameAsync(WebSocketOpcode.Continuation, fin: true, new byte[] { 3 });

        var pong = await connection.ReceiveAsync();
        Assert.Equal(WibeSocketMessageType.Pong, pong.Type);
        Assert.Equal("between"u8.ToArray(), pong.Payload.ToArray());
        var echoed = await connection.ReceiveAsync();
        Assert.Equal(new byte[] { 1, 2, 3 }, echoed.Payload.ToArray());
        Assert.Equal(1, echoed.FrameCount);
    }

    // R6455-5.1-b: an unmasked client frame fails the connection with 1002, and the close frame reaches the client.
    [Fact]
    public async Task UnmaskedFrame_ClosesWith1002()
    {
        await using var connection = await factory.CreateClient().ConnectRawAsync("/echo");
        var unmasked = new ArrayBufferWriter<byte>();
        WebSocketFrameWriter.WriteFrame(unmasked, WebSocketOpcode.Text, fin: true, rsv1: false, "plain"u8, maskKey: null);

        await connection.SendRawAsync(unmasked.WrittenMemory);

        var close = await connection.ReceiveAsync();
        Assert.Equal(WibeSocketMessageType.Close, close.Type);
        Assert.Equal(WebSocketCloseStatus.ProtocolError, close.CloseStatus);
        await connection.WaitForServerToFinishAsync();
    }

    // The sample's /broadcast in memory: a message from one connection reaches the others unchanged, not the sender.
    [Fact]
    public async Task Broadcast_RelaysToEveryOtherConnection_InMemory()
    {
        await using var a = await factory.CreateClient().ConnectAsync("/broadcast");
        await using var b = await factory.CreateClient().ConnectAsync("/broadcast");
        await using var c = await factory.CreateClient().ConnectAsync("/broadcast");

        var audience = Microsoft.Extensions.DependencyInjection.ServiceProviderServiceExtensions.GetRequiredService<IWibeSocketClientsProvider>(factory.Services).GetClients("/broadcast");
        await Shockwave.Middleware.Tests.Support.Eventually.TrueAsync(() => audience.ConnectionCount == 3, what: "three connections on /broadcast");

        await b.SendBinaryAsync(new byte[] { 1, 2, 3 });
        var atA = await a.ReceiveAsync();
        var atC = await c.ReceiveAsync();
        Assert.Equal(WibeSocketMessageType.Binary, atA.Type);
        Assert.Equal(new byte[] { 1, 2, 3 }, atA.Payload.ToArray());
        Assert.Equal(new byte[] { 1, 2, 3 }, atC.Payload.ToArray());

        // The sender got nothing back: its next message is the one c sends now.
        await c.SendTextAsync("from c");
        Assert.Equal("from c", (await b.ReceiveAsync()).Text);
    }

    [Fact]
    public async Task HealthEndpoints_AreHealthy_InMemory()
    {
        using var http = factory.CreateHttpClient();
        Assert.Equal(System.Net.HttpStatusCode.OK, (await http.GetAsync("/health/ready")).StatusCode);
        Assert.Equal(System.Net.HttpStatusCode.OK, (await http.GetAsync("/health/live")).StatusCode);
    }
}
