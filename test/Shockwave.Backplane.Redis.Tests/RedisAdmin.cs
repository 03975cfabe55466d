using StackExchange.Redis;

namespace Shockwave.Backplane.Redis.Tests;

/// <summary>Asks Redis itself who listens where: subscriptions are made in the background, so tests wait for them.</summary>
public static class RedisAdmin
{
    public static async Task WaitForSubscribersAsync(RedisServer redis, string channel, int expected)
    {
        await using var connection = await ConnectionMultiplexer.ConnectAsync(redis.ConnectionString);
        var server = connection.GetServer(connection.GetEndPoints()[0]);
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(15);
        long count = -1;
        while (DateTime.UtcNow < deadline)
        {
            count = await server.SubscriptionSubscriberCountAsync(RedisChannel.Literal(channel));
            if (count == expected)
            {
                return;
            }

            await Task.Delay(20);
        }

        Assert.Fail($"{channel} has {count} subscribers, not {expected}, after 15 s.");
    }
}
