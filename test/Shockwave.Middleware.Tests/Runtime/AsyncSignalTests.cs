using Shockwave.Runtime;

namespace Shockwave.Middleware.Tests.Runtime;

/// <summary>The single-waiter auto-reset signal between the read loop and the handler.</summary>
public sealed class AsyncSignalTests
{
    [Fact]
    public void SetBeforeWait_CompletesTheNextWaitSynchronously_Once()
    {
        var signal = new AsyncSignal();
        signal.Set();
        signal.Set(); // coalesced: auto-reset, not a counter

        Assert.True(signal.WaitAsync().AsTask().IsCompletedSuccessfully);
        Assert.False(signal.WaitAsync().AsTask().IsCompleted);
    }

    [Fact]
    public async Task WaitThenSet_CompletesTheWait()
    {
        var signal = new AsyncSignal();
        var wait = signal.WaitAsync().AsTask();
        Assert.False(wait.IsCompleted);

        signal.Set();

        await wait.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.False(signal.WaitAsync().AsTask().IsCompleted);
    }

    [Fact]
    public async Task ASecondConcurrentWait_Throws()
    {
        var signal = new AsyncSignal();
        _ = signal.WaitAsync().AsTask();

        // (Bounded: a second wait that did not throw would never complete.)
        await Assert.ThrowsAsync<InvalidOperationException>(() => signal.WaitAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(5)));
    }

    // A producer on another thread sets the signal after every item; the consumer waits whenever it has seen every item
    // so far. A lost wake-up would leave the consumer waiting with an item pending: the bound below would fire.
    [Fact]
    public async Task ConcurrentSetsAndWaits_NeverLoseAWakeUp()
    {
        const int Items = 200_000;
        var signal = new AsyncSignal();
        long produced = 0;
        var producer = Task.Run(() =>
        {
            for (int i = 0; i < Items; i++)
            {
                Interlocked.Increment(ref produced);
                signal.Set();
            }
        });

        long consumed = 0;
        while (consumed < Items)
        {
            long available = Interlocked.Read(ref produced);
            if (available > consumed)
            {
                consumed = available;
                continue;
            }

            await signal.WaitAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(10));
        }

        await producer;
        Assert.Equal(Items, consumed);
    }
}
