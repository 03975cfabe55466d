using System.Text.Json;
using StackExchange.Redis;

namespace Shockwave.Samples.Chat;

/// <summary>
/// The chat's own connection to Redis, for history and presence (the backplane keeps its own for pub/sub). It starts
/// while Redis is down (<c>AbortOnConnectFail = false</c>, it keeps reconnecting), and a command while Redis is
/// unreachable fails at once (<see cref="BacklogPolicy.FailFast"/>) or within <see cref="CommandTimeout"/>, so a chat
/// command never waits long on Redis. Failures are logged once per outage, not once per message.
/// </summary>
internal sealed partial class ChatRedis : IAsyncDisposable
{
    /// <summary>The longest a history or presence command waits for Redis: 2 seconds.</summary>
    public static readonly TimeSpan CommandTimeout = TimeSpan.FromSeconds(2);

    private readonly Task<ConnectionMultiplexer> _connecting;
    private readonly ILogger<ChatRedis> _logger;
    private int _failing;
    private long _failures;

    public ChatRedis(string connectionString, string prefix, ILogger<ChatRedis> logger)
    {
        var options = ConfigurationOptions.Parse(connectionString);
        options.AbortOnConnectFail = false;
        options.BacklogPolicy = BacklogPolicy.FailFast;
        options.AsyncTimeout = (int)CommandTimeout.TotalMilliseconds;
        options.ClientName ??= "chat";
        Prefix = prefix;
        _logger = logger;
        _connecting = ConnectAsync(options);
    }

    /// <summary>
    /// How many commands have failed, or connections to Redis were lost, since the start: a change means the shared
    /// state may have missed changes, or been lost with a restarted Redis.
    /// </summary>
    public long Failures => Interlocked.Read(ref _failures);

    /// <summary>The start of every key: <c>Chat:RedisPrefix</c>, "chat" by default.</summary>
    public string Prefix { get; }

    /// <summary>
    /// Runs <paramref name="command"/> on the database; on a Redis failure logs (once per outage) and returns
    /// <paramref name="fallback"/>'s result instead of throwing, so the hub never fails on Redis.
    /// </summary>
    public async ValueTask<T> RunAsync<T>(string operation, Func<IDatabase, Task<T>> command, Func<T> fallback, CancellationToken cancellationToken)
    {
        try
        {
            var redis = await _connecting.WaitAsync(CommandTimeout, cancellationToken).ConfigureAwait(false);
            var result = await command(redis.GetDatabase()).WaitAsync(CommandTimeout, cancellationToken).ConfigureAwait(false);
            if (Interlocked.Exchange(ref _failing, 0) == 1)
            {
                Log.Recovered(_logger, operation);
            }

            return result;
        }
        catch (Exception e) when (e is RedisException or TimeoutException or ObjectDisposedException)
        {
            Interlocked.Increment(ref _failures);
            if (Interlocked.Exchange(ref _failing, 1) == 0)
            {
                Log.Failing(_logger, operation, e.Message);
            }

            return fallback();
        }
    }

    private async Task<ConnectionMultiplexer> ConnectAsync(ConfigurationOptions options)
    {
        var redis = await ConnectionMultiplexer.ConnectAsync(options).ConfigureAwait(false);
        // A lost connection counts as a failure even if no command failed: Redis may have come back empty.
        redis.ConnectionFailed += (_, _) => Interlocked.Increment(ref _failures);
        return redis;
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            var redis = await _connecting.ConfigureAwait(false);
            await redis.DisposeAsync().ConfigureAwait(false);
        }
        catch (RedisException)
        {
        }
    }

    private static partial class Log
    {
        [LoggerMessage(20, LogLevel.Warning, "Chat history and presence: Redis is unreachable ({Operation}: {Reason}). History reads are empty, new messages are relayed but not stored, and member lists show this node only, until it answers again.", EventName = "ChatRedisFailing")]
        public static partial void Failing(ILogger logger, string operation, string reason);

        [LoggerMessage(21, LogLevel.Information, "Chat history and presence: Redis answers again ({Operation}).", EventName = "ChatRedisRecovered")]
        public static partial void Recovered(ILogger logger, string operation);
    }
}

/// <summary>
/// History every node reads: a Redis list per room (<c>{prefix}:room:{room}:history</c>), newest first, trimmed to
/// <see cref="ChatProtocol.HistoryLength"/> in the same transaction as the push. Each entry is the message as JSON.
/// </summary>
internal sealed class RedisChatHistory(ChatRedis redis) : IChatHistory
{
    public async ValueTask AppendAsync(ChatMessage message, CancellationToken cancellationToken = default)
    {
        var key = Key(message.Room);
        byte[] entry = Serialize(message);
        await redis.RunAsync(
            "append",
            async db =>
            {
                var transaction = db.CreateTransaction();
                _ = transaction.ListLeftPushAsync(key, entry);
                _ = transaction.ListTrimAsync(key, 0, ChatProtocol.HistoryLength - 1);
                return await transaction.ExecuteAsync().ConfigureAwait(false);
            },
            () => false,
            cancellationToken).ConfigureAwait(false);
    }

    public async ValueTask<IReadOnlyList<ChatMessage>> GetRecentAsync(string room, CancellationToken cancellationToken = default)
    {
        var entries = await redis.RunAsync("read history", db => db.ListRangeAsync(Key(room), 0, ChatProtocol.HistoryLength - 1), () => [], cancellationToken).ConfigureAwait(false);
        var messages = new List<ChatMessage>(entries.Length);
        for (int i = entries.Length - 1; i >= 0; i--)
        {
            // Skipped if unreadable: nothing another writer put in Redis can fail a join.
            if (TryDeserialize(entries[i], room, out var message))
            {
                messages.Add(message);
            }
        }

        return messages;
    }

    private RedisKey Key(string room) => $"{redis.Prefix}:room:{room}:history";

    private static byte[] Serialize(ChatMessage message)
    {
        var buffer = new System.Buffers.ArrayBufferWriter<byte>(256);
        using (var writer = new Utf8JsonWriter(buffer, ChatProtocol.WriterOptions))
        {
            writer.WriteStartObject();
            writer.WriteString("id", message.Id);
            writer.WriteString("from", message.From);
            writer.WriteString("text", message.Text);
            writer.WriteString("ts", message.Timestamp);
            writer.WriteEndObject();
        }

        return buffer.WrittenSpan.ToArray();
    }

    private static bool TryDeserialize(RedisValue entry, string room, out ChatMessage message)
    {
        message = null!;
        try
        {
            using var document = JsonDocument.Parse((ReadOnlyMemory<byte>)entry);
            var root = document.RootElement;
            if (root.ValueKind == JsonValueKind.Object
                && root.TryGetProperty("id", out var id) && id.ValueKind == JsonValueKind.String
                && root.TryGetProperty("from", out var from) && from.ValueKind == JsonValueKind.String
                && root.TryGetProperty("text", out var text) && text.ValueKind == JsonValueKind.String
                && root.TryGetProperty("ts", out var ts) && ts.TryGetDateTimeOffset(out var timestamp))
            {
                message = new ChatMessage(id.GetString()!, room, from.GetString()!, text.GetString()!, timestamp);
                return true;
            }
        }
        catch (JsonException)
        {
        }

        return false;
    }
}

/// <summary>
/// Presence every node agrees on: a Redis hash per room (<c>{prefix}:room:{room}:members</c>) of connection id ->
/// node and user, changed and read back in one script, so the list and its version (a per-room counter, never below
/// the clock in microseconds) come from one atomic step. Each node keeps <c>{prefix}:node:{id}</c> alive (30 s, renewed
/// every 10 s); entries of a node whose key expired (it crashed without saying goodbye) are dropped the next time the
/// room changes. While Redis is unreachable, the answer is this node's own view, kept beside it in memory, and
/// <see cref="ChatNodeRenewal"/> writes that view back once Redis answers again.
/// </summary>
internal sealed class RedisChatPresence(ChatRedis redis, TimeProvider time) : IChatPresence
{
    /// <summary>How long a node counts as alive after its last renewal: 30 seconds.</summary>
    public static readonly TimeSpan NodeLifetime = TimeSpan.FromSeconds(30);

    /// <summary>How often a node renews its key: every 10 seconds.</summary>
    public static readonly TimeSpan NodeRenewal = TimeSpan.FromSeconds(10);

    // Both scripts end by reading the room back: the members of live nodes (a dead node's entries are deleted), and
    // the room's next version, never below the clock (ARGV[2], microseconds). Returns { version, users } with one user
    // per connection. ARGV[3] is the node key prefix, ARGV[4] the node lifetime in seconds.
    private const string ReadBack = """
        local entries = redis.call('HGETALL', KEYS[1])
        local alive = {}
        local users = {}
        for i = 1, #entries, 2 do
          local value = entries[i + 1]
          local separator = string.find(value, '\n', 1, true)
          if separator then
            local node = string.sub(value, 1, separator - 1)
            if alive[node] == nil then alive[node] = redis.call('EXISTS', ARGV[3] .. node) == 1 end
            if alive[node] then table.insert(users, string.sub(value, separator + 1)) else redis.call('HDEL', KEYS[1], entries[i]) end
          else
            redis.call('HDEL', KEYS[1], entries[i])
          end
        end
        local version = redis.call('INCR', KEYS[2])
        local now = tonumber(ARGV[2])
        if version < now then
          redis.call('SET', KEYS[2], ARGV[2])
          version = now
        end
        return { string.format('%.0f', version), users }
        """;

    // KEYS: members hash, version counter, this node's key. ARGV[1]: 'join' or 'leave'; ARGV[5]: the connection id;
    // ARGV[6]: node \n user.
    private const string ChangeScript = """
        redis.call('SET', KEYS[3], '1', 'EX', ARGV[4])
        if ARGV[1] == 'join' then redis.call('HSET', KEYS[1], ARGV[5], ARGV[6]) else redis.call('HDEL', KEYS[1], ARGV[5]) end
        """ + "\n" + ReadBack;

    // Makes this node's entries in a room exactly its own view. KEYS as above. ARGV[1]: this node's id; from ARGV[5]:
    // connection id, node \n user pairs.
    private const string SyncScript = """
        redis.call('SET', KEYS[3], '1', 'EX', ARGV[4])
        local mine = {}
        for i = 5, #ARGV, 2 do mine[ARGV[i]] = ARGV[i + 1] end
        local prefix = ARGV[1] .. '\n'
        local entries = redis.call('HGETALL', KEYS[1])
        for i = 1, #entries, 2 do
          if string.sub(entries[i + 1], 1, #prefix) == prefix and mine[entries[i]] == nil then redis.call('HDEL', KEYS[1], entries[i]) end
        end
        for connection, value in pairs(mine) do redis.call('HSET', KEYS[1], connection, value) end
        """ + "\n" + ReadBack;

    private readonly InMemoryChatPresence _local = new(time);

    // Rooms whose change reached only _local: written back by ResyncAsync even if this node has no one left in them.
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, byte> _unsynced = new(StringComparer.Ordinal);

    /// <summary>This process's id in the member hashes.</summary>
    public string NodeId { get; } = Guid.NewGuid().ToString("N");

    public ValueTask<ChatMembers> JoinAsync(string room, string connectionId, string user, CancellationToken cancellationToken = default) =>
        ChangeAsync("join", room, connectionId, user, cancellationToken);

    public ValueTask<ChatMembers> LeaveAsync(string room, string connectionId, CancellationToken cancellationToken = default) =>
        ChangeAsync("leave", room, connectionId, "", cancellationToken);

    /// <summary>Marks this node alive for another <see cref="NodeLifetime"/>.</summary>
    public ValueTask<bool> RenewAsync(CancellationToken cancellationToken) =>
        redis.RunAsync("renew node", db => db.StringSetAsync(NodeKey, "1", NodeLifetime), () => false, cancellationToken);

    private string NodeKey => $"{redis.Prefix}:node:{NodeId}";

    private async ValueTask<ChatMembers> ChangeAsync(string op, string room, string connectionId, string user, CancellationToken cancellationToken)
    {
        // This node's view, always kept: the answer while Redis is unreachable, and what is written back after.
        var local = op == "join"
            ? await _local.JoinAsync(room, connectionId, user, cancellationToken).ConfigureAwait(false)
            : await _local.LeaveAsync(room, connectionId, cancellationToken).ConfigureAwait(false);
        return await redis.RunAsync(
            op,
            db => EvaluateAsync(db, ChangeScript, room, [op, connectionId, $"{NodeId}\n{user}"]),
            () =>
            {
                _unsynced[room] = 0;
                return local;
            },
            cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Writes this node's own view of every room it has connections in back to Redis (after an outage, the shared
    /// hashes may lack joins made during it, or have been lost with a restarted Redis); returns the rooms' new lists.
    /// </summary>
    public async ValueTask<List<(string Room, ChatMembers Members)>?> ResyncAsync(CancellationToken cancellationToken)
    {
        var rooms = _local.Rooms();
        foreach (string room in _unsynced.Keys)
        {
            rooms.TryAdd(room, []);
        }

        var result = new List<(string, ChatMembers)>(rooms.Count);
        foreach (var (room, connections) in rooms)
        {
            var arguments = new List<RedisValue>(4 + (connections.Length * 2)) { NodeId };
            foreach (var (connection, user) in connections)
            {
                arguments.Add(connection);
                arguments.Add($"{NodeId}\n{user}");
            }

            var members = await redis.RunAsync<ChatMembers?>("resync", async db => await EvaluateAsync(db, SyncScript, room, arguments), () => null, cancellationToken).ConfigureAwait(false);
            if (members is null)
            {
                return null;
            }

            _unsynced.TryRemove(room, out _);
            result.Add((room, members));
        }

        return result;
    }

    private async Task<ChatMembers> EvaluateAsync(IDatabase db, string script, string room, IReadOnlyList<RedisValue> arguments)
    {
        // ARGV[1] is the script's own; ARGV[2..4] are ReadBack's; the rest are the script's again.
        RedisValue[] values = [arguments[0], time.GetUtcNow().ToUnixTimeMilliseconds() * 1000, $"{redis.Prefix}:node:", (long)NodeLifetime.TotalSeconds, .. arguments.Skip(1)];
        var result = (RedisResult[])(await db.ScriptEvaluateAsync(
            script,
            [$"{redis.Prefix}:room:{room}:members", $"{redis.Prefix}:room:{room}:members:v", NodeKey],
            values).ConfigureAwait(false))!;
        long version = long.Parse((string)result[0]!, System.Globalization.CultureInfo.InvariantCulture);
        var users = ((RedisResult[])result[1]!).Select(u => (string)u!).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToArray();
        return new ChatMembers(version, users);
    }
}

/// <summary>
/// Renews this node's presence key every <see cref="RedisChatPresence.NodeRenewal"/>, and after any failed Redis
/// command writes this node's view of its rooms back and sends the rooms their lists (at the first two renewals that
/// succeed), so presence heals by itself within a renewal or two after Redis answers again, even a Redis restarted empty.
/// </summary>
internal sealed class ChatNodeRenewal(RedisChatPresence presence, ChatRedis redis, IWibeSocketClients<ChatHub> clients, TimeProvider time) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(RedisChatPresence.NodeRenewal, time);
        long seen = redis.Failures;
        int resyncs = 0;
        do
        {
            long failures = redis.Failures;
            if (failures != seen)
            {
                // Twice: the second, a renewal later, also reaches nodes whose backplane reconnected after this one.
                seen = failures;
                resyncs = 2;
            }

            if (!await presence.RenewAsync(stoppingToken).ConfigureAwait(false))
            {
                continue; // Counted as a failure: the next renewal that succeeds resyncs.
            }

            if (resyncs > 0 && await presence.ResyncAsync(stoppingToken).ConfigureAwait(false) is { } rooms)
            {
                resyncs--;
                foreach (var (room, members) in rooms)
                {
                    using var update = ChatWire.Members(room, members);
                    await clients.SendToGroupAsync(room, update, stoppingToken).ConfigureAwait(false);
                }
            }
        }
        while (await timer.WaitForNextTickAsync(stoppingToken).ConfigureAwait(false));
    }
}
