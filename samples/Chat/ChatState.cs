using System.Collections.Concurrent;

namespace Shockwave.Samples.Chat;

/// <summary>A room's members (distinct user names, sorted) and the version of that list: a page keeps the highest.</summary>
public sealed record ChatMembers(long Version, IReadOnlyList<string> Users);

/// <summary>
/// The last messages of each room. The sample's seam for shared history: the in-memory store serves one node; a store
/// that every node reads (a Redis list, say) replaces it in <see cref="ChatServiceCollectionExtensions.AddChat"/>.
/// </summary>
public interface IChatHistory
{
    /// <summary>Stores a message; the room keeps its last <see cref="ChatProtocol.HistoryLength"/>.</summary>
    ValueTask AppendAsync(ChatMessage message, CancellationToken cancellationToken = default);

    /// <summary>The room's last messages, oldest first.</summary>
    ValueTask<IReadOnlyList<ChatMessage>> GetRecentAsync(string room, CancellationToken cancellationToken = default);
}

/// <summary>Who is in which room, by connection: the seam for presence across nodes, as <see cref="IChatHistory"/> is for history.</summary>
public interface IChatPresence
{
    /// <summary>Records that a connection of <paramref name="user"/> is in <paramref name="room"/>; returns the room's members after.</summary>
    ValueTask<ChatMembers> JoinAsync(string room, string connectionId, string user, CancellationToken cancellationToken = default);

    /// <summary>Records that the connection left <paramref name="room"/>; returns the room's members after.</summary>
    ValueTask<ChatMembers> LeaveAsync(string room, string connectionId, CancellationToken cancellationToken = default);
}

/// <summary>History in this process: the last messages of each room in a ring, gone when the process ends.</summary>
internal sealed class InMemoryChatHistory : IChatHistory
{
    private readonly ConcurrentDictionary<string, Queue<ChatMessage>> _rooms = new(StringComparer.Ordinal);

    public ValueTask AppendAsync(ChatMessage message, CancellationToken cancellationToken = default)
    {
        var queue = _rooms.GetOrAdd(message.Room, _ => new Queue<ChatMessage>(ChatProtocol.HistoryLength));
        lock (queue)
        {
            if (queue.Count == ChatProtocol.HistoryLength)
            {
                queue.Dequeue();
            }

            queue.Enqueue(message);
        }

        return ValueTask.CompletedTask;
    }

    public ValueTask<IReadOnlyList<ChatMessage>> GetRecentAsync(string room, CancellationToken cancellationToken = default)
    {
        if (!_rooms.TryGetValue(room, out var queue))
        {
            return ValueTask.FromResult<IReadOnlyList<ChatMessage>>([]);
        }

        lock (queue)
        {
            return ValueTask.FromResult<IReadOnlyList<ChatMessage>>([.. queue]);
        }
    }
}

/// <summary>Presence in this process: each room's connections and their users.</summary>
internal sealed class InMemoryChatPresence(TimeProvider time) : IChatPresence
{
    private readonly Dictionary<string, Dictionary<string, string>> _rooms = new(StringComparer.Ordinal);
    private readonly Lock _lock = new();

    // Starts from the clock so a restarted node's versions are above those a reconnecting page saw before.
    private long _version = time.GetUtcNow().ToUnixTimeMilliseconds() * 1000;

    public ValueTask<ChatMembers> JoinAsync(string room, string connectionId, string user, CancellationToken cancellationToken = default)
    {
        lock (_lock)
        {
            if (!_rooms.TryGetValue(room, out var connections))
            {
                _rooms[room] = connections = new Dictionary<string, string>(StringComparer.Ordinal);
            }

            connections[connectionId] = user;
            return ValueTask.FromResult(Snapshot(connections));
        }
    }

    public ValueTask<ChatMembers> LeaveAsync(string room, string connectionId, CancellationToken cancellationToken = default)
    {
        lock (_lock)
        {
            if (!_rooms.TryGetValue(room, out var connections))
            {
                return ValueTask.FromResult(new ChatMembers(++_version, []));
            }

            connections.Remove(connectionId);
            if (connections.Count == 0)
            {
                _rooms.Remove(room);
            }

            return ValueTask.FromResult(Snapshot(connections));
        }
    }

    /// <summary>Every room's connections and their users, copied.</summary>
    internal Dictionary<string, KeyValuePair<string, string>[]> Rooms()
    {
        lock (_lock)
        {
            return _rooms.ToDictionary(room => room.Key, room => room.Value.ToArray(), StringComparer.Ordinal);
        }
    }

    // One version counter for all rooms: increasing per room too, which is all a page needs to drop a stale list.
    private ChatMembers Snapshot(Dictionary<string, string> connections) =>
        new(++_version, [.. connections.Values.Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal)]);
}
