using Shockwave.Backplane.Redis.Tests;

namespace Shockwave.Chat.Tests;

/// <summary>
/// Two nodes of samples/Chat (A and B, each a real Kestrel on 127.0.0.1) on one real redis-server, configured the way
/// an operator would: the same <c>ConnectionStrings:Redis</c> and the same Data Protection key directory, so a cookie
/// issued by one node signs in on the other. A node can be stopped (gracefully: the drain) and started again on its port.
/// </summary>
public sealed class ChatCluster : IAsyncLifetime, IAsyncDisposable
{
    private readonly string _keys = Directory.CreateTempSubdirectory("chat-keys-").FullName;

    public RedisServer Redis { get; private set; } = null!;

    public ChatAppFactory A { get; private set; } = null!;

    public ChatAppFactory B { get; private set; } = null!;

    /// <summary>The settings every node gets.</summary>
    public IReadOnlyDictionary<string, string> Settings => new Dictionary<string, string>
    {
        ["ConnectionStrings:Redis"] = Redis.ConnectionString,
        ["DataProtection:KeysPath"] = _keys,
    };

    public async Task InitializeAsync()
    {
        Redis = await RedisServer.StartAsync();
        A = StartNode();
        B = StartNode();
    }

    /// <summary>Starts a node on this cluster's Redis and keys, on <paramref name="port"/> (0: any free one).</summary>
    public ChatAppFactory StartNode(int port = 0) => new ChatAppFactory(port, settings: Settings).Start();

    /// <summary>Stops node A gracefully (its connections are drained with 1012) and returns its port.</summary>
    public async Task<int> StopAAsync()
    {
        int port = A.Port;
        await A.DisposeAsync();
        return port;
    }

    /// <summary>Starts node A again on <paramref name="port"/>.</summary>
    public void RestartA(int port) => A = StartNode(port);

    async ValueTask IAsyncDisposable.DisposeAsync() => await DisposeAsync();

    public async Task DisposeAsync()
    {
        await A.DisposeAsync();
        await B.DisposeAsync();
        await Redis.DisposeAsync();
        try
        {
            Directory.Delete(_keys, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
