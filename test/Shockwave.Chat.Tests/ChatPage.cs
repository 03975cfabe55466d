using System.Text.Json.Nodes;

namespace Shockwave.Chat.Tests;

/// <summary>One tab of the chat page in the browser, used through the page's <c>data-testid</c> hooks only.</summary>
public sealed class ChatPage(BrowserDriver browser, string context, string name)
{
    public string Name => name;

    public string Context => context;

    public static async Task<ChatPage> OpenAsync(BrowserDriver browser, string context, string name, Uri baseUri)
    {
        await browser.NewPageAsync(context, name);
        int status = await browser.GotoAsync(name, baseUri);
        Assert.Equal(200, status);
        return new ChatPage(browser, context, name);
    }

    /// <summary>Signs in with the form and waits for the socket to open.</summary>
    public async Task SignInAsync(string displayName)
    {
        await browser.FillAsync(name, "name", displayName);
        await browser.ClickAsync(name, BrowserDriver.TestId("signin"));
        await WaitForStateAsync("connected");
    }

    /// <summary>A tab opened in a context that is signed in already connects by itself.</summary>
    public Task WaitForStateAsync(string state, TimeSpan? timeout = null) =>
        browser.WaitForAsync(name, "return document.querySelector('[data-testid=status]').dataset.state === arg;", state, timeout);

    public async Task<string> StatusTextAsync() =>
        (await browser.EvaluateAsync(name, "return document.querySelector('[data-testid=status]').textContent;"))!.GetValue<string>();

    public async Task JoinAsync(string room)
    {
        await browser.FillAsync(name, "room", room);
        await browser.ClickAsync(name, BrowserDriver.TestId("join"));
    }

    public async Task SendAsync(string text)
    {
        await browser.FillAsync(name, "message", text);
        await browser.PressAsync(name, "message", "Enter");
    }

    public Task WaitForMembersAsync(params string[] members) =>
        browser.WaitForAsync(
            name,
            "const names = [...document.querySelectorAll('[data-testid=members] > li')].map(li => li.textContent); return JSON.stringify(names) === JSON.stringify(arg);",
            new JsonArray([.. members.Select(m => JsonValue.Create(m))]));

    /// <summary>Waits until a message from <paramref name="from"/> with exactly <paramref name="text"/> is listed.</summary>
    public Task WaitForMessageAsync(string from, string text, TimeSpan? timeout = null) =>
        browser.WaitForAsync(
            name,
            "return [...document.querySelectorAll('[data-testid=messages] > li')].some(li => li.querySelector('.from').textContent === arg.from && li.querySelector('.text').textContent === arg.text);",
            new JsonObject { ["from"] = from, ["text"] = text },
            timeout);

    /// <summary>Every listed message: sender line and text, as shown.</summary>
    public async Task<(string From, string Text)[]> MessagesAsync()
    {
        var list = await browser.EvaluateAsync(name, "return [...document.querySelectorAll('[data-testid=messages] > li')].map(li => [li.querySelector('.from').textContent, li.querySelector('.text').textContent]);");
        return [.. list!.AsArray().Select(item => (item![0]!.GetValue<string>(), item[1]!.GetValue<string>()))];
    }

    public async Task ClickMemberAsync(string member) =>
        await browser.ClickAsync(name, $"[data-testid=members] > li:text-is(\"{member}\")");

    public async Task<int> CountAsync(string selector) =>
        (await browser.EvaluateAsync(name, "return document.querySelectorAll(arg).length;", selector))!.GetValue<int>();

    public async Task<JsonNode?> EvaluateAsync(string body, JsonNode? arg = null) => await browser.EvaluateAsync(name, body, arg);

    public Task ScreenshotAsync(string path) => browser.ScreenshotAsync(name, path);
}
