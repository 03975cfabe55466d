using Shockwave.Protocol;

namespace Shockwave.Client.Tests;

/// <summary>The client against servers no one here wrote: Node's ws and Python's websockets, plain and with permessage-deflate.</summary>
public sealed class ThirdPartyServerTests
{
    public static TheoryData<string, bool> Servers => new()
    {
        { "node-ws", false },
        { "node-ws", true },
        { "python-websockets", false },
        { "python-websockets", true },
    };

    [Theory]
    [MemberData(nameof(Servers))]
    public async Task EchoRoundTrip_0BTo16MiB_TextAndBinary_ComesBackByteExact(string name, bool deflate)
    {
        await using var server = await StartAsync(name, deflate);
        var options = new WibeSocketClientOptions();
        options.Compression.Enabled = deflate;
        options.Compression.MinMessageSizeToCompress = 0;
        await using var socket = await WibeSocketClient.ConnectAsync(server.Url, options);
        Assert.True(deflate == socket.Compression is not null, $"negotiated {socket.ResponseHeaders.GetFirstValue("Sec-WebSocket-Extensions")}");

        foreach (int size in Payloads.Sizes)
        {
            await RoundTrip.AssertEchoAsync(socket, Payloads.Create(size, text: true), text: true);
            await RoundTrip.AssertEchoAsync(socket, Payloads.Create(size, text: false), text: false);
        }

        await socket.CloseAsync((WebSocketCloseStatus)4000, "done");
        Assert.Equal(WibeSocketState.Closed, socket.State);

        // Both libraries echo the close frame they receive (RFC 6455 section 5.5.1).
        Assert.Equal((WebSocketCloseStatus)4000, socket.CloseStatus);
    }

    [Theory]
    [MemberData(nameof(Servers))]
    public async Task ServerCloses_ClientReceivesItsCode(string name, bool deflate)
    {
        await using var server = await StartAsync(name, deflate);
        var options = new WibeSocketClientOptions();
        options.Compression.Enabled = deflate;
        await using var socket = await WibeSocketClient.ConnectAsync(server.Url, options);

        await socket.SendTextAsync("close:4321:from the server");
        var message = await socket.ReceiveAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(10));

        Assert.True(message.IsClose);
        Assert.Equal((WebSocketCloseStatus)4321, socket.CloseStatus);
        Assert.Equal("from the server", socket.CloseStatusDescription);
        await socket.Completion.WaitAsync(TimeSpan.FromSeconds(10));
    }

    [Theory]
    [InlineData("node-ws", 9)]
    [InlineData("python-websockets", 9)]
    public async Task Deflate_ClientWindowBits_ServerAcceptsAndRoundTrips(string name, int bits)
    {
        await using var server = await StartAsync(name, deflate: true);
        var options = new WibeSocketClientOptions();
        options.Compression.Enabled = true;
        options.Compression.ClientMaxWindowBits = bits;
        options.Compression.MinMessageSizeToCompress = 0;
        await using var socket = await WibeSocketClient.ConnectAsync(server.Url, options);

        var agreed = Assert.NotNull(socket.Compression);
        Assert.True(agreed.ClientMaxWindowBits <= bits, $"client window {agreed.ClientMaxWindowBits}");
        for (int i = 0; i < 3; i++)
        {
            await RoundTrip.AssertEchoAsync(socket, Payloads.Create(200_000, text: true, seed: i), text: true);
        }

        await socket.CloseAsync();
    }

    private static Task<ExternalServer> StartAsync(string name, bool deflate) => name == "node-ws"
        ? ExternalServer.StartNodeWsAsync(deflate)
        : ExternalServer.StartPythonWebsocketsAsync(deflate);
}
