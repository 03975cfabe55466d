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
