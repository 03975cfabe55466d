using System.Net.WebSockets;
using System.Text;

namespace Shockwave.Middleware.Tests.Support;

/// <summary>A whole message received with <see cref="ClientWebSocket"/>.</summary>
internal sealed record ReceivedMessage(WebSocketMessageType Type, byte[] Payload, int Receives)
{
    public string Text => Encoding.UTF8.GetString(Payload);
}

/// <summary>Bounded helpers over <see cref="ClientWebSocket"/>.</summary>
internal static class ClientWebSocketExtensions
{
    public static async Task<ClientWebSocket> ConnectAsync(Uri uri, Action<ClientWebSocketOptions>? configure = null, HttpMessageInvoker? invoker = null)
    {
        var socket = new ClientWebSocket();
        configure?.Invoke(socket.Options);
        using var timeout = new CancellationTokenSource(Eventually.DefaultTimeout);
        try
        {
            await socket.ConnectAsync(uri, invoker, timeout.Token);
        }
        catch
        {
            socket.Dispose();
            throw;
        }

        return socket;
    }

    /// <summary>Receives until end of message (or a close), whatever the number of reads it takes.</summary>
    public static async Task<ReceivedMessage> ReceiveMessageAsync(this WebSocket socket, TimeSpan? timeout = null)
    {
        using var cts = new CancellationTokenSource(timeout ?? Eventually.DefaultTimeout);
        var payload = new MemoryStream();
        var buffer = new byte[64 * 1024];
        int receives = 0;
        while (true)
        {
            var result = await socket.ReceiveAsync(buffer.AsMemory(), cts.Token);
            receives++;
            payload.Write(buffer, 0, result.Count);
            if (result.MessageType == WebSocketMessageType.Close || result.EndOfMessage)
            {
                return new ReceivedMessage(result.MessageType, payload.ToArray(), receives);
            }
        }
    }

    public static async Task SendTextAsync(this WebSocket socket, string text)
    {
        using var timeout = new CancellationTokenSource(Eventually.DefaultTimeout);
        await socket.SendAsync(Encoding.UTF8.GetBytes(text), WebSocketMessageType.Text, endOfMessage: true, timeout.Token);
    }

    /// <summary>The full close handshake from the client side, bounded.</summary>
    public static async Task CloseBoundedAsync(this WebSocket socket, WebSocketCloseStatus status = WebSocketCloseStatus.NormalClosure, string? reason = null)
    {
        using var timeout = new CancellationTokenSource(Eventually.DefaultTimeout);
        await socket.CloseAsync(status, reason, timeout.Token);
    }
}
