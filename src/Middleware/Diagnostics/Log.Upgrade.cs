using Microsoft.Extensions.Logging;

namespace Shockwave.Diagnostics;

// Event ids 100-199: upgrade and routing.
internal static partial class Log
{
    [LoggerMessage(100, LogLevel.Debug, "WibeSocket upgrade refused for request {TraceIdentifier} to {Path}: {StatusCode} {Reason}.", EventName = "HandshakeRejected")]
    public static partial void HandshakeRejected(ILogger logger, string traceIdentifier, string path, int statusCode, string reason);

    [LoggerMessage(101, LogLevel.Warning, "WibeSocket upgrade of request {TraceIdentifier} failed: {Message}", EventName = "UpgradeFailed")]
    public static partial void UpgradeFailed(ILogger logger, string traceIdentifier, string message);
}
