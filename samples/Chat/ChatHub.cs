using System.Security.Claims;
using Shockwave.Protocol;

namespace Shockwave.Samples.Chat;

/// <summary>
/// One chat connection: rooms are the library's groups, direct messages go to every connection of a user, presence
/// and history go through <see cref="IChatPresence"/> and <see cref="IChatHistory"/>. Every command is validated by
/// <see cref="ChatProtocol"/>; a bad one gets an error message back, and a connection that keeps sending bad ones is
/// closed with 1008 (docs/chat-protocol.md).
/// </summary>
public sealed partial class ChatHub(IChatHistory history, IChatPresence presence, ChatMetrics metrics, TimeProvider time, ILogger<ChatHub> logger) : WibeSocketHub
{
    /// <summary>Errors a connection may cause within <see cref="StrikeWindow"/> before it is closed with 1008: 10.</summary>
    public const int MaxStrikes = 10;

    /// <summary>The window errors are counted in: one minute.</summary>
    public static readonly TimeSpan StrikeWindow = TimeSpan.FromMinutes(1);

    private readonly HashSet<string> _rooms = new(StringComparer.Ordinal);
    private readonly Queue<long> _strikes = new();
    private string _user = "";

    /// <inheritdoc/>
    public override async Task OnConnectedAsync(CancellationToken cancellationToken)
    {
        // The cookie's name claim; the library addresses users by the NameIdentifier claim, which sign-in sets to the same name.
        _user = Socket.User.FindFirstValue(ClaimTypes.Name) ?? throw new InvalidOperationException("An authorized chat connection has a name claim.");
        await SendAsync(ChatWire.Hello(_user), cancellationToken);
    }

    /// <inheritdoc/>
    public override async Task OnMessageAsync(WibeSocketMessage message, CancellationToken cancellationToken)
    {
        if (!message.IsText)
        {
            await RefuseAsync(new ChatError("invalid-json", "Messages are JSON text, not binary."), cancellationToken);
            return;
        }

        if (!ChatProtocol.TryParse(message.Payload, out var command, out var error))
        {
            await RefuseAsync(error, cancellationToken);
            return;
        }

        switch (command.Type)
        {
            case "join":
                await JoinAsync(command.Room!, cancellationToken);
                break;
            case "leave":
                await LeaveAsync(command.Room!, cancellationToken);
                break;
            case "say":
                await SayAsync(command.Room!, command.Text!, cancellationToken);
                break;
            case "dm":
                await DirectAsync(command.To!, command.Text!, cancellationToken);
                break;
        }
    }

    /// <inheritdoc/>
    public override async Task OnDisconnectedAsync(WebSocketCloseStatus? closeStatus, Exception? exception)
    {
        // The library ends group membership with the connection; presence is the app's, so it is updated here.
        foreach (var room in _rooms)
        {
            var members = await presence.LeaveAsync(room, Socket.ConnectionId);
            using var update = ChatWire.Members(room, members);
            await Clients.SendToGroupExceptAsync(room, update, [Socket.ConnectionId]);
        }

        _rooms.Clear();
    }

    private async Task JoinAsync(string room, CancellationToken cancellationToken)
    {
        if (!_rooms.Contains(room) && _rooms.Count >= ChatProtocol.MaxRoomsPerConnection)
        {
            await RefuseAsync(new ChatError("too-many-rooms", $"A connection is in at most {ChatProtocol.MaxRoomsPerConnection} rooms; leave one first.", "join", room), cancellationToken);
            return;
        }

        // Joining again (a page re-fetching history) is allowed: it answers with the history and members again.
        _rooms.Add(room);
        await JoinGroupAsync(room, cancellationToken);
        var members = await presence.JoinAsync(room, Socket.ConnectionId, _user, cancellationToken);
        var recent = await history.GetRecentAsync(room, cancellationToken);
        await SendAsync(ChatWire.Joined(room, recent, members), cancellationToken);

        using var update = ChatWire.Members(room, members);
        await Clients.SendToGroupExceptAsync(room, update, [Socket.ConnectionId], cancellationToken);
    }

    private async Task LeaveAsync(string room, CancellationToken cancellationToken)
    {
        if (!_rooms.Remove(room))
        {
            await RefuseAsync(new ChatError("not-joined", "You are not in this room.", "leave", room), cancellationToken);
            return;
        }

        await LeaveGroupAsync(room, cancellationToken);
        var members = await presence.LeaveAsync(room, Socket.ConnectionId, cancellationToken);
        await SendAsync(ChatWire.Left(room), cancellationToken);
        using var update = ChatWire.Members(room, members);
        await Clients.SendToGroupAsync(room, update, cancellationToken);
    }

    private async Task SayAsync(string room, string text, CancellationToken cancellationToken)
    {
        if (!_rooms.Contains(room))
        {
            await RefuseAsync(new ChatError("not-joined", "Join the room before sending to it.", "say", room), cancellationToken);
            return;
        }

        // Stored before it is relayed, so a page that joins in between finds it in the history.
        var chat = new ChatMessage(NewId(), room, _user, text, time.GetUtcNow());
        await history.AppendAsync(chat, cancellationToken);
        using var relay = ChatWire.Message(chat);
        await Clients.SendToGroupAsync(room, relay, cancellationToken);
        metrics.MessageRelayed("room");
    }

    private async Task DirectAsync(string to, string text, CancellationToken cancellationToken)
    {
        using var direct = ChatWire.Direct(NewId(), _user, to, text, time.GetUtcNow());
        var delivered = await Clients.SendToUserAsync(to, direct, cancellationToken);
        if (delivered.Queued == 0)
        {
            // Not a strike: people go offline between a click and a send.
            Log.NotDelivered(logger);
            await SendAsync(ChatWire.Error(new ChatError("user-offline", "No connection of that user is open; direct messages are not stored.", "dm")), cancellationToken);
            return;
        }

        // The sender's own tabs show the conversation too.
        if (!string.Equals(to, _user, StringComparison.Ordinal))
        {
            await Clients.SendToUserAsync(_user, direct, cancellationToken);
        }

        metrics.MessageRelayed("direct");
    }

    private async Task RefuseAsync(ChatError error, CancellationToken cancellationToken)
    {
        metrics.Refused(error.Code);
        Log.Refused(logger, error.Code);
        await SendAsync(ChatWire.Error(error), cancellationToken);

        long now = time.GetTimestamp();
        while (_strikes.Count > 0 && time.GetElapsedTime(_strikes.Peek(), now) > StrikeWindow)
        {
            _strikes.Dequeue();
        }

        _strikes.Enqueue(now);
        if (_strikes.Count >= MaxStrikes)
        {
            metrics.ClosedForAbuse();
            Log.ClosedForAbuse(logger, MaxStrikes);
            await Socket.CloseAsync(WebSocketCloseStatus.PolicyViolation, "too many invalid messages", cancellationToken);
        }
    }

    // A connection's own replies go through its send queue like the group sends, so they keep their order with them.
    private async Task SendAsync(WibeSocketPreparedMessage message, CancellationToken cancellationToken)
    {
        using (message)
        {
            await Clients.SendToConnectionAsync(Socket.ConnectionId, message, cancellationToken);
        }
    }

    private static string NewId() => Guid.CreateVersion7().ToString("N");

    private static partial class Log
    {
        // Debug: a log line per bad message would let any client fill the logs; the metrics count them instead.
        [LoggerMessage(1, LogLevel.Debug, "Chat message refused: {Code}.", EventName = "ChatMessageRefused")]
        public static partial void Refused(ILogger logger, string code);

        [LoggerMessage(2, LogLevel.Debug, "Chat connection closed with 1008 after {Strikes} refused messages within a minute.", EventName = "ChatClosedForAbuse")]
        public static partial void ClosedForAbuse(ILogger logger, int strikes);

        [LoggerMessage(3, LogLevel.Debug, "Direct message not delivered: the user has no open connection.", EventName = "ChatDirectNotDelivered")]
        public static partial void NotDelivered(ILogger logger);
    }
}
