using Microsoft.Extensions.Logging;

namespace Shockwave.Diagnostics;

// Event ids 150-199: addressing, broadcast and send budgets.
internal static partial class Log
{
    [LoggerMessage(150, LogLevel.Debug, "WibeSocket endpoint {Endpoint}: no {Kind} '{Key}' on this node; nothing sent.", EventName = "UnknownAudience")]
    public static partial void UnknownAudience(ILogger logger, string endpoint, string kind, string key);

    // Once per connection: a slow consumer under a steady broadcast would otherwise log every message.
    [LoggerMessage(151, LogLevel.Information, "WibeSocket {ConnectionId} ({Endpoint}) fell behind its send budget of {Budget} bytes; {Action}.", EventName = "SlowConsumer")]
    public static partial void SlowConsumer(ILogger logger, string connectionId, string endpoint, long budget, string action);
}

// Event ids 140-149: graceful drain.
internal static partial class Log
{
    [LoggerMessage(140, LogLevel.Information, "WibeSocket drain started: closing {Connections} connections over {Window}; new upgrades get 503.", EventName = "DrainStarted")]
    public static partial void DrainStarted(ILogger logger, int connections, TimeSpan window);

    [LoggerMessage(141, LogLevel.Information, "WibeSocket drain completed: {Connections} connections closed in {Elapsed}.", EventName = "DrainCompleted")]
    public static partial void DrainCompleted(ILogger logger, int connections, TimeSpan elapsed);

    [LoggerMessage(142, LogLevel.Warning, "WibeSocket drain did not finish within the host's shutdown timeout; {Remaining} connections were still to close.", EventName = "DrainOverran")]
    public static partial void DrainOverran(ILogger logger, int remaining);
}
