namespace Shockwave.Chat.Tests;

/// <summary>One Chromium for the tests of a class.</summary>
public sealed class BrowserFixture : IAsyncLifetime
{
    public BrowserDriver Browser { get; private set; } = null!;

    public async Task InitializeAsync() => Browser = await BrowserDriver.StartAsync();

    public async Task DisposeAsync() => await Browser.DisposeAsync();
}
