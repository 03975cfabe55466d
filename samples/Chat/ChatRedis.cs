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

    public ChatRedis(string connectionString, string prefix, ILogger<ChatRedis> logger)
    {
        var options = ConfigurationOptions.Parse(connectionString);
        options.AbortOnConnectFail = false;
        options.BacklogPolicy = BacklogPolicy.FailFast;
        options.AsyncTimeout = (int)CommandTimeout.TotalMilliseconds;
        options.ClientName ??= "chat";
        Prefix = prefix;
        _logger = logger;
        _connecting = ConnectionMultiplexer.ConnectAsync(options);
    }

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
            if (Interlocked.Exchange(ref _failing, 1) == 0)
            {
                Log.Failing(_logger, operation, e.Message);
            }

            return fallback();
        }
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
/// room changes. While Redis is unreachable, the answer is this node's own view, kept beside it in memory.
/// </summary>
internal sealed class RedisChatPresence(ChatRedis redis, TimeProvider time) : IChatPresence
{
    /// <summary>How long a node counts as alive after its last renewal: 30 seconds.</summary>
    public static readonly TimeSpan NodeLifetime = TimeSpan.FromSeconds(30);

    /// <summary>How often a node renews its key: every 10 seconds.</summary>
    public static readonly TimeSpan NodeRenewal = TimeSpan.FromSeconds(10);

    // KEYS: members hash, version counter, this node's key. ARGV: op, connection id, node \n user, clock (us), node key
    // prefix, node lifetime (s). Returns { version, users } (users with duplicates, one per connection).
    private const string Script = """
        redis.call('SET', KEYS[3], '1', 'EX', ARGV[6])
        if ARGV[1] == 'join' then redis.call('HSET', KEYS[1], ARGV[2], ARGV[3]) else redis.call('HDEL', KEYS[1], ARGV[2]) end
        local entries = redis.call('HGETALL', KEYS[1])
        local alive = {}
        local users = {}
        for i = 1, #entries, 2 do
          local value = entries[i + 1]
          local separator = string.find(value, '\n', 1, true)
          if separator then
            local node = string.sub(value, 1, separator - 1)
            if alive[node] == nil then alive[node] = redis.call('EXISTS', ARGV[5] .. node) == 1 end
            if alive[node] then table.insert(users, string.sub(value, separator + 1)) else redis.call('HDEL', KEYS[1], entries[i]) end
          else
            redis.call('HDEL', KEYS[1], entries[i])
          end
        end
        local version = redis.call('INCR', KEYS[2])
        local now = tonumber(ARGV[4])
        if version < now then
          redis.call('SET', KEYS[2], ARGV[4])
          version = now
        end
        return { string.format('%.0f', version), users }
        """;

    private readonly InMemoryChatPresence _local = new(time);

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
        // This node's view, always kept: the answer while Redis is unreachable.
        var local = op == "join"
            ? await _local.JoinAsync(room, connectionId, user, cancellationToken).ConfigureAwait(false)
            : await _local.LeaveAsync(room, connectionId, cancellationToken).ConfigureAwait(false);
        long clock = time.GetUtcNow().ToUnixTimeMilliseconds() * 1000;
        return await redis.RunAsync(
            op,
            async db =>
            {
                var result = (RedisResult[])(await db.ScriptEvaluateAsync(
                    Script,
                    [$"{redis.Prefix}:room:{room}:members", $"{redis.Prefix}:room:{room}:members:v", NodeKey],
                    [op, connectionId, $"{NodeId}\n{user}", clock, $"{redis.Prefix}:node:", (long)NodeLifetime.TotalSeconds]).ConfigureAwait(false))!;
                long version = long.Parse((string)result[0]!, System.Globalization.CultureInfo.InvariantCulture);
                var users = ((RedisResult[])result[1]!).Select(u => (string)u!).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToArray();
                return new ChatMembers(version, users);
            },
            () => local,
            cancellationToken).ConfigureAwait(false);
    }
}

/// <summary>Renews this node's presence key every <see cref="RedisChatPresence.NodeRenewal"/>.</summary>
internal sealed class ChatNodeRenewal(RedisChatPresence presence, TimeProvider time) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(RedisChatPresence.NodeRenewal, time);
        do
        {
            await presence.RenewAsync(stoppingToken).ConfigureAwait(false);
        }
        while (await timer.WaitForNextTickAsync(stoppingToken).ConfigureAwait(false));
    }
}
