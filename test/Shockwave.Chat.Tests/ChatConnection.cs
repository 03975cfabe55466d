using System.Net;
using System.Net.Http.Json;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json;

namespace Shockwave.Chat.Tests;

/// <summary>
/// A protocol-level chat client: signs in over HTTP (a real cookie), then talks JSON over a real
/// <see cref="ClientWebSocket"/>. Every wait has a timeout, so a server that does not answer fails the test.
/// </summary>
public sealed class ChatConnection : IAsyncDisposable
{
    public static readonly TimeSpan Timeout = TimeSpan.FromSeconds(10);

    private readonly byte[] _buffer = new byte[128 * 1024];

    private ChatConnection(ClientWebSocket socket, string user)
    {
        Socket = socket;
        User = user;
    }

    public ClientWebSocket Socket { get; }

    public string User { get; }

    /// <summary>Signs <paramref name="name"/> in; the container holds the sign-in cookie.</summary>
    public static async Task<CookieContainer> SignInAsync(Uri baseUri, string name)
    {
        var cookies = new CookieContainer();
        using var handler = new HttpClientHandler { CookieContainer = cookies };
        using var http = new HttpClient(handler) { BaseAddress = baseUri, Timeout = Timeout };
        using var response = await http.PostAsJsonAsync("/signin", new { name });
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"sign-in of '{name}' answered {(int)response.StatusCode}");
        return cookies;
    }

    /// <summary>Signs in and connects; the server's <c>hello</c> has been read and checked.</summary>
    public static async Task<ChatConnection> ConnectAsync(Uri baseUri, string name)
    {
        var cookies = await SignInAsync(baseUri, name);
        var connection = await ConnectAsync(baseUri, cookies, name);
        var hello = await connection.ExpectAsync("hello");
        Assert.Equal(name, hello.GetProperty("user").GetString());
        return connection;
    }

    /// <summary>Connects with the given cookies; the caller reads <c>hello</c>.</summary>
    public static async Task<ChatConnection> ConnectAsync(Uri baseUri, CookieContainer cookies, string name)
    {
        var socket = new ClientWebSocket();
        socket.Options.Cookies = cookies;
        socket.Options.SetRequestHeader(ChatAppFactory.TestClientHeader, "1");
        using var timeout = new CancellationTokenSource(Timeout);
        await socket.ConnectAsync(WebSocketUri(baseUri), timeout.Token);
        return new ChatConnection(socket, name);
    }

    /// <summary>Tries an upgrade and returns the HTTP status it got (101 when it connected).</summary>
    public static async Task<HttpStatusCode> TryUpgradeAsync(Uri baseUri, CookieContainer? cookies, string? origin)
    {
        using var socket = new ClientWebSocket();
        socket.Options.CollectHttpResponseDetails = true;
        if (cookies is not null)
        {
            socket.Options.Cookies = cookies;
        }

        if (origin is not null)
        {
            socket.Options.SetRequestHeader("Origin", origin);
        }

        using var timeout = new CancellationTokenSource(Timeout);
        try
        {
            await socket.ConnectAsync(WebSocketUri(baseUri), timeout.Token);
            await socket.CloseAsync(WebSocketCloseStatus.NormalClosure, null, timeout.Token);
        }
        catch (WebSocketException)
        {
            // The refused upgrade's status is in HttpStatusCode.
        }

        return socket.HttpStatusCode;
    }

    public static Uri WebSocketUri(Uri baseUri) => new UriBuilder(baseUri) { Scheme = "ws", Path = "/chat" }.Uri;

    public Task SendAsync(object command) => SendTextAsync(JsonSerializer.Serialize(command));

    public async Task SendTextAsync(string text)
    {
        using var timeout = new CancellationTokenSource(Timeout);
        await Socket.SendAsync(Encoding.UTF8.GetBytes(text), WebSocketMessageType.Text, true, timeout.Token);
    }

    public async Task SendBinaryAsync(byte[] bytes)
    {
        using var timeout = new CancellationTokenSource(Timeout);
        await Socket.SendAsync(bytes, WebSocketMessageType.Binary, true, timeout.Token);
    }

    /// <summary>The next message, parsed; fails on a close or a timeout.</summary>
    public async Task<JsonElement> ReceiveAsync(TimeSpan? timeout = null)
    {
        var (type, text) = await ReceiveRawAsync(timeout);
        Assert.True(type == WebSocketMessageType.Text, $"{User}: expected a text message, got {type} (close {Socket.CloseStatus} '{Socket.CloseStatusDescription}')");
        using var document = JsonDocument.Parse(text);
        return document.RootElement.Clone();
    }

    /// <summary>The next message of <paramref name="type"/>, skipping presence updates (which may come at any time) unless asked for.</summary>
    public async Task<JsonElement> ExpectAsync(string type, TimeSpan? timeout = null)
    {
        while (true)
        {
            var message = await ReceiveAsync(timeout);
            string actual = message.GetProperty("type").GetString()!;
            if (actual == "members" && type != "members")
            {
                continue;
            }

            Assert.True(actual == type, $"{User}: expected '{type}', got {message}");
            return message;
        }
    }

    /// <summary>The next message, which must be an error with <paramref name="code"/>.</summary>
    public async Task<JsonElement> ExpectErrorAsync(string code)
    {
        var error = await ExpectAsync("error");
        Assert.True(error.GetProperty("code").GetString() == code, $"{User}: expected error '{code}', got {error}");
        Assert.False(string.IsNullOrEmpty(error.GetProperty("message").GetString()));
        return error;
    }

    /// <summary>Reads until the server's close and returns its status and reason.</summary>
    public async Task<(WebSocketCloseStatus? Status, string? Reason)> ExpectCloseAsync()
    {
        while (true)
        {
            var (type, _) = await ReceiveRawAsync();
            if (type == WebSocketMessageType.Close)
            {
                return (Socket.CloseStatus, Socket.CloseStatusDescription);
            }
        }
    }

    /// <summary>Joins a room and returns the <c>joined</c> answer.</summary>
    public async Task<JsonElement> JoinAsync(string room)
    {
        await SendAsync(new { type = "join", room });
        var joined = await ExpectAsync("joined");
        Assert.Equal(room, joined.GetProperty("room").GetString());
        return joined;
    }

    private async Task<(WebSocketMessageType Type, string Text)> ReceiveRawAsync(TimeSpan? wait = null)
    {
        using var timeout = new CancellationTokenSource(wait ?? Timeout);
        int length = 0;
        while (true)
        {
            var result = await Socket.ReceiveAsync(_buffer.AsMemory(length), timeout.Token);
            length += result.Count;
            if (result.EndOfMessage || result.MessageType == WebSocketMessageType.Close)
            {
                return (result.MessageType, Encoding.UTF8.GetString(_buffer, 0, length));
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (Socket.State == WebSocketState.Open)
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
            try
            {
                await Socket.CloseAsync(WebSocketCloseStatus.NormalClosure, null, timeout.Token);
            }
            catch (Exception e) when (e is WebSocketException or OperationCanceledException)
            {
            }
        }

        Socket.Dispose();
    }
}
