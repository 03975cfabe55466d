using System.Threading.RateLimiting;
using Shockwave.Runtime;

namespace Shockwave.Clients;

/// <summary>
/// The inbound rate limits of one connection, on <see cref="TokenBucketRateLimiter"/>s: one for messages, one for bytes,
/// each holding one second's worth and refilled every 100 ms. Created only for endpoints that set a rate.
/// </summary>
internal sealed class TokenBucketInboundLimiter : IInboundLimiter
{
    private static readonly TimeSpan Period = TimeSpan.FromMilliseconds(100);

    private readonly TokenBucketRateLimiter? _messages;
    private readonly TokenBucketRateLimiter? _bytes;
    private readonly int _byteBucket;

    public TokenBucketInboundLimiter(WibeSocketInboundRateLimit limit)
    {
        CloseWhenExceeded = limit.Policy == WibeSocketRateLimitPolicy.Close;
        _messages = limit.MessagesPerSecond is { } messages ? Create(Math.Max(messages, 1)) : null;
        _byteBucket = (int)Math.Clamp(limit.BytesPerSecond ?? 1, 1, int.MaxValue);
        _bytes = limit.BytesPerSecond is not null ? Create(_byteBucket) : null;
    }

    public bool CloseWhenExceeded { get; }

    public bool TryAdmit(long bytes)
    {
        // Both buckets are charged even when the first refuses, so a flood of large messages pays for its bytes too.
        bool messageOk = _messages is null || Acquire(_messages, 1);
        bool bytesOk = _bytes is null || Acquire(_bytes, ByteTokens(bytes));
        return messageOk && bytesOk;
    }

    public async ValueTask WaitAsync(long bytes, CancellationToken cancellationToken)
    {
        // Wait until each bucket holds a message's worth again (a single message larger than a bucket waits for a full one).
        if (_messages is not null)
        {
            using var lease = await _messages.AcquireAsync(1, cancellationToken).ConfigureAwait(false);
        }

        if (_bytes is not null)
        {
            using var lease = await _bytes.AcquireAsync(ByteTokens(bytes), cancellationToken).ConfigureAwait(false);
        }
    }

    public void Dispose()
    {
        _messages?.Dispose();
        _bytes?.Dispose();
    }

    private static TokenBucketRateLimiter Create(int bucket) => new TokenBucketRateLimiter(new TokenBucketRateLimiterOptions
        {
            TokenLimit = bucket,
            TokensPerPeriod = Math.Max(bucket / 10, 1),
            ReplenishmentPeriod = Period,
            AutoReplenishment = true,
            QueueLimit = bucket,
            QueueProcessingOrder = QueueProcessingOrder.OldestFirst,
        });

    private static bool Acquire(TokenBucketRateLimiter limiter, int permits)
    {
        using var lease = limiter.AttemptAcquire(permits);
        return lease.IsAcquired;
    }

    // A permit count above the bucket can never be granted: a message larger than a second's worth takes a full bucket.
    private int ByteTokens(long bytes) => (int)Math.Clamp(bytes, 1, _byteBucket);
}
