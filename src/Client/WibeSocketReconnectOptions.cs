using Shockwave.Protocol;

namespace Shockwave.Client;

/// <summary>
/// When and how fast a <see cref="ResilientWibeSocketClient"/> reconnects: exponential backoff with full jitter (each delay
/// is drawn uniformly from zero to <c>min(MaxDelay, InitialDelay * 2^(attempt - 1))</c>), so a fleet of clients that lost
/// the same server does not come back in lockstep.
/// </summary>
public sealed class WibeSocketReconnectOptions
{
    /// <summary>The backoff's first ceiling. The default is 1 second.</summary>
    public TimeSpan InitialDelay { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>The largest delay between two attempts. The default is 30 seconds.</summary>
    public TimeSpan MaxDelay { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// How many connection attempts in a row may fail before the client gives up (<see cref="WibeSocketConnectionState.Closed"/>).
    /// The count starts again after each successful connection. The default is 10; <see cref="int.MaxValue"/> never gives up.
    /// </summary>
    public int MaxAttempts { get; set; } = 10;

    /// <summary>
    /// Whether a close with 1008 (policy violation) or 1003 (unsupported data), or a 4xx answer to the upgrade, is retried. The
    /// default is false: the server refused this client, and asking again the same way will be refused again.
    /// </summary>
    public bool RetryRefusals { get; set; }

    /// <summary>
    /// Whether a close with 1000 (normal closure) from the server is followed by a reconnect. The default is false: the server
    /// ended the conversation on purpose. 1001 (going away), 1012 (service restart), 1013 (try again later), 1011 and a
    /// connection lost without a close are always followed by a reconnect.
    /// </summary>
    public bool ReconnectAfterNormalClosure { get; set; }

    /// <summary>Draws the jitter; replace it to make delays predictable in tests. The default is <see cref="Random.Shared"/>.</summary>
    public Random Random { get; set; } = Random.Shared;

    /// <summary>The delay before attempt <paramref name="attempt"/> (1 for the first retry): full jitter under the exponential ceiling.</summary>
    public TimeSpan GetDelay(int attempt)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(attempt, 1);
        double ceiling = Math.Min(MaxDelay.Ticks, InitialDelay.Ticks * Math.Pow(2, Math.Min(attempt - 1, 62)));
        return TimeSpan.FromTicks((long)(Random.NextDouble() * ceiling));
    }

    /// <summary>Whether the end of a connection with <paramref name="status"/> (null: no close frame) calls for a reconnect.</summary>
    public bool ShouldReconnect(WebSocketCloseStatus? status) => status switch
    {
        null or WebSocketCloseStatus.AbnormalClosure or WebSocketCloseStatus.NoStatusReceived => true,
        WebSocketCloseStatus.NormalClosure => ReconnectAfterNormalClosure,
        WebSocketCloseStatus.PolicyViolation or WebSocketCloseStatus.UnsupportedData => RetryRefusals,
        _ => true,
    };

    /// <summary>Throws <see cref="ArgumentOutOfRangeException"/> for a value out of range.</summary>
    public void Validate()
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(InitialDelay, TimeSpan.Zero, nameof(InitialDelay));
        ArgumentOutOfRangeException.ThrowIfLessThan(MaxDelay, InitialDelay, nameof(MaxDelay));
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(MaxAttempts, nameof(MaxAttempts));
        ArgumentNullException.ThrowIfNull(Random, nameof(Random));
    }
}

/// <summary>Where a <see cref="ResilientWibeSocketClient"/> is.</summary>
public enum WibeSocketConnectionState
{
    /// <summary>Not started yet, or making its first connection.</summary>
    Connecting,

    /// <summary>Connected: sends and receives go to the current connection.</summary>
    Connected,

    /// <summary>The connection ended and the client is waiting out a backoff delay or trying again.</summary>
    Reconnecting,

    /// <summary>Closed by the caller, by a close the policy does not retry, or after too many failed attempts. Final.</summary>
    Closed,
}

/// <summary>A state change of a <see cref="ResilientWibeSocketClient"/>.</summary>
public sealed class WibeSocketConnectionStateChangedEventArgs : EventArgs
{
    internal WibeSocketConnectionStateChangedEventArgs(WibeSocketConnectionState previous, WibeSocketConnectionState current, int attempt, TimeSpan? delay, WebSocketCloseStatus? closeStatus, Exception? exception)
    {
        Previous = previous;
        Current = current;
        Attempt = attempt;
        Delay = delay;
        CloseStatus = closeStatus;
        Exception = exception;
    }

    /// <summary>The state before.</summary>
    public WibeSocketConnectionState Previous { get; }

    /// <summary>The state now.</summary>
    public WibeSocketConnectionState Current { get; }

    /// <summary>How many attempts in a row have failed (0 once connected).</summary>
    public int Attempt { get; }

    /// <summary>The backoff delay before the next attempt, when reconnecting.</summary>
    public TimeSpan? Delay { get; }

    /// <summary>The close status that ended the previous connection, when one did.</summary>
    public WebSocketCloseStatus? CloseStatus { get; }

    /// <summary>Why the last attempt failed, when one did.</summary>
    public Exception? Exception { get; }
}
