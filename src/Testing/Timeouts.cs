using System.Diagnostics;
using System.Globalization;

namespace Shockwave.Testing;

/// <summary>
/// Runs a client operation under the caller's token, the connection's lifetime and a default timeout, so that a hung
/// app fails a test with a <see cref="TimeoutException"/> naming the operation instead of hanging the test run.
/// </summary>
internal static class Timeouts
{
    public static async Task<T> RunAsync<T>(
        Func<CancellationToken, Task<T>> operation,
        string name,
        TimeSpan timeout,
        CancellationToken cancellationToken,
        CancellationToken connectionAborted = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, connectionAborted);

        // A debugger stopped at a breakpoint in the app must not fail the test under the developer's feet.
        bool timed = timeout != Timeout.InfiniteTimeSpan && !Debugger.IsAttached;
        if (timed)
        {
            linked.CancelAfter(timeout);
        }

        try
        {
            return await operation(linked.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException ex) when (linked.IsCancellationRequested)
        {
            if (cancellationToken.IsCancellationRequested)
            {
                throw new OperationCanceledException(ex.Message, ex, cancellationToken);
            }

            if (connectionAborted.IsCancellationRequested)
            {
                throw new ObjectDisposedException(nameof(WibeSocketTestConnectionBase), $"{name} ended because the connection was disposed.");
            }

            throw new TimeoutException(string.Create(CultureInfo.InvariantCulture, $"{name} did not complete within {timeout.TotalSeconds:0.###} s."), ex);
        }
    }

    public static Task RunAsync(
        Func<CancellationToken, Task> operation,
        string name,
        TimeSpan timeout,
        CancellationToken cancellationToken,
        CancellationToken connectionAborted = default) =>
        RunAsync(
            async token =>
            {
                await operation(token).ConfigureAwait(false);
                return true;
            },
            name,
            timeout,
            cancellationToken,
            connectionAborted);

    public static void Validate(TimeSpan timeout, string paramName)
    {
        if (timeout != Timeout.InfiniteTimeSpan && timeout <= TimeSpan.Zero)
        {
            throw new ArgumentOutOfRangeException(paramName, timeout, "The timeout must be positive or Timeout.InfiniteTimeSpan.");
        }
    }
}
