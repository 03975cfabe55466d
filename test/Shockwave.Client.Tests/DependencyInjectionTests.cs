using Microsoft.Extensions.DependencyInjection;

namespace Shockwave.Client.Tests;

public sealed class DependencyInjectionTests
{
    [Fact]
    public async Task AddWibeSocketClient_NamedClientsGetTheirOwnOptionsAndConnect()
    {
        await using var server = await EchoServer.StartAsync();
        var services = new ServiceCollection();
        services.AddWibeSocketClient("chat", o =>
        {
            o.SubProtocols.Add("chat.v2");
            o.Headers.Add(new("Authorization", "Bearer abc"));
        });
        services.AddWibeSocketClient("feed", o => o.Compression.Enabled = true);
        await using var provider = services.BuildServiceProvider();
        var factory = provider.GetRequiredService<IWibeSocketClientFactory>();

        var chat = factory.CreateClient("chat");
        var feed = factory.CreateClient("feed");
        Assert.Equal(["chat.v2"], chat.Options.SubProtocols);
        Assert.False(chat.Options.Compression.Enabled);
        Assert.True(feed.Options.Compression.Enabled);
        Assert.Empty(factory.CreateClient("unknown").Options.Headers);

        await using var socket = await chat.ConnectAsync(server.Url(EchoServer.Headers));
        Assert.Equal("chat.v2", socket.SubProtocol);
        Assert.StartsWith("authorization=Bearer abc;", (await socket.ReceiveAsync()).GetText(), StringComparison.Ordinal);

        await using var compressed = await feed.ConnectAsync(server.Url(EchoServer.Deflate));
        Assert.NotNull(compressed.Compression);
    }
}
