namespace Shockwave.Middleware.Tests.Support;

/// <summary>Bounded polling for effects that happen on another thread; never an unbounded wait.</summary>
internal static class Eventually
{
    /// <summary>The default bound for anything a test waits for.</summary>
    public static readonly TimeSpan DefaultTimeout = TimeSpan.FromSeconds(10);

    /// <summary>Polls until <paramref name="condition"/> holds; throws <see cref="TimeoutException"/> when it never does.</summary>
    public static async Task TrueAsync(Func<bool> condition, TimeSpan? timeout = null, string? what = null)
    {
        var deadline = DateTime.UtcNow + (timeout ?? DefaultTimeout);
        while (!condition())
        {
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"Timed out waiting for {what ?? "a condition"}.");
            }

            await Task.Delay(10).ConfigureAwait(false);
        }
    }

    /// <summary>Polls until <paramref name="probe"/> returns non-null; returns null when the bound passes.</summary>
    public static async Task<T?> ValueAsync<T>(Func<T?> probe, TimeSpan? timeout = null)
        where T : class
    {
        var deadline = DateTime.UtcNow + (timeout ?? DefaultTimeout);
        while (true)
        {
            var value = probe();
            if (value is not null || DateTime.UtcNow > deadline)
            {
                return value;
            }

            await Task.Delay(10).ConfigureAwait(false);
        }
    }
}
