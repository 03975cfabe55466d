using Microsoft.Extensions.Logging;
using Shockwave.Backplane;

namespace Shockwave.Diagnostics;

// Event ids 200-219: the scale-out backplane.
internal static partial class Log
{
    [LoggerMessage(200, LogLevel.Information, "WibeSocket backplane starting: node {NodeId}, channel prefix '{Prefix}'.", EventName = "BackplaneStarting")]
    public static partial void Starting(ILogger logger, string nodeId, string prefix);

    [LoggerMessage(201, LogLevel.Warning, "WibeSocket backplane: a message on {Channel} was not delivered to other nodes (broker unreachable or too slow); local recipients got it. Until a publish succeeds again, such messages are counted (shockwave.backplane.published, result not_delivered), not logged.", EventName = "BackplaneNotDelivered")]
    public static partial void NotDelivered(ILogger logger, string channel);

    [LoggerMessage(202, LogLevel.Warning, "WibeSocket backplane: publishing on {Channel} failed: {Error}", EventName = "BackplanePublishFailed")]
    public static partial void PublishFailed(ILogger logger, string channel, string error);

    [LoggerMessage(203, LogLevel.Warning, "WibeSocket backplane: an unreadable message of {Length} bytes on {Channel} was ignored.", EventName = "BackplaneMalformed")]
    public static partial void Malformed(ILogger logger, string channel, int length);

    [LoggerMessage(204, LogLevel.Debug, "WibeSocket backplane: the unreadable message: {Error}", EventName = "BackplaneMalformedDetail")]
    public static partial void MalformedDetail(ILogger logger, string error);

    [LoggerMessage(205, LogLevel.Warning, "WibeSocket backplane lost its broker connection ({Reason}): messages between nodes are lost until it is back; local delivery continues.", EventName = "BackplaneConnectionLost")]
    public static partial void ConnectionLost(ILogger logger, string reason);

    [LoggerMessage(206, LogLevel.Information, "WibeSocket backplane reconnected; restoring {Channels} subscriptions.", EventName = "BackplaneConnectionRestored")]
    public static partial void ConnectionRestored(ILogger logger, int channels);

    [LoggerMessage(207, LogLevel.Warning, "WibeSocket backplane: subscribing to or leaving {Channel} failed ({Error}); retrying.", EventName = "BackplaneSubscriptionFailed")]
    public static partial void SubscriptionFailed(ILogger logger, string channel, string error);

    [LoggerMessage(208, LogLevel.Warning, "WibeSocket backplane gap: {Reason} on endpoint {Endpoint}, {Scope} '{Key}', from node {SenderNodeId}: {Missed} messages missed.", EventName = "BackplaneGap")]
    public static partial void Gap(ILogger logger, WibeSocketBackplaneGapReason reason, string endpoint, WibeSocketBackplaneGapScope scope, string key, string senderNodeId, string missed);

    [LoggerMessage(209, LogLevel.Error, "WibeSocket backplane: the OnGap callback failed.", EventName = "BackplaneGapCallbackFailed")]
    public static partial void GapCallbackFailed(ILogger logger, Exception exception);

    [LoggerMessage(210, LogLevel.Warning, "WibeSocket backplane: a group change for {ConnectionId} did not reach its node.", EventName = "BackplaneGroupChangeNotDelivered")]
    public static partial void GroupChangeNotDelivered(ILogger logger, string connectionId);
}
