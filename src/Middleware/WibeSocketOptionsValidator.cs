using Microsoft.Extensions.Options;
using Shockwave.Protocol.Handshake;

namespace Shockwave;

/// <summary>Fails startup on options that cannot work, with a message that names the setting.</summary>
internal sealed class WibeSocketOptionsValidator : IValidateOptions<WibeSocketOptions>
{
    public ValidateOptionsResult Validate(string? name, WibeSocketOptions options)
    {
        var failures = Check(options);
        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }

    public static void ThrowIfInvalid(WibeSocketOptions options, string where)
    {
        var failures = Check(options);
        if (failures.Count > 0)
        {
            throw new OptionsValidationException(where, typeof(WibeSocketOptions), failures);
        }
    }

    private static List<string> Check(WibeSocketOptions o)
    {
        List<string> failures = [];
        if (o.MaxFramePayloadLength < 1)
        {
            failures.Add($"{nameof(o.MaxFramePayloadLength)} must be at least 1 (is {o.MaxFramePayloadLength}).");
        }

        if (o.MaxMessageSize < 1 || o.MaxMessageSize > Array.MaxLength)
        {
            failures.Add($"{nameof(o.MaxMessageSize)} must be between 1 and {Array.MaxLength} (is {o.MaxMessageSize}).");
        }

        // Only an explicit contradiction fails: an unset frame limit follows the message limit.
        if (o.MaxFramePayloadLengthIsExplicit && o.MaxFramePayloadLength > o.MaxMessageSize)
        {
            failures.Add($"{nameof(o.MaxFramePayloadLength)} ({o.MaxFramePayloadLength}) was set above {nameof(o.MaxMessageSize)} ({o.MaxMessageSize}): a frame cannot be larger than the message it belongs to. Lower {nameof(o.MaxFramePayloadLength)}, raise {nameof(o.MaxMessageSize)}, or leave {nameof(o.MaxFramePayloadLength)} unset to follow the message limit.");
        }

        if (o.MaxFragmentsPerMessage < 1)
        {
            failures.Add($"{nameof(o.MaxFragmentsPerMessage)} must be at least 1 (is {o.MaxFragmentsPerMessage}).");
        }

        if (o.SendQueueLimit < 1)
        {
            failures.Add($"{nameof(o.SendQueueLimit)} must be at least 1 byte (is {o.SendQueueLimit}).");
        }

        if (!Enum.IsDefined(o.SlowConsumerPolicy))
        {
            failures.Add($"{nameof(o.SlowConsumerPolicy)} must be Close or Drop (is {o.SlowConsumerPolicy}).");
        }

        if (o.Drain.Window <= TimeSpan.Zero || o.Drain.RetryAfter < TimeSpan.Zero)
        {
            failures.Add($"{nameof(o.Drain)}: Window must be positive and RetryAfter not negative (are {o.Drain.Window} and {o.Drain.RetryAfter}).");
        }

        if (!Shockwave.Protocol.CloseStatusRules.IsValidOnWire(o.Drain.CloseStatus))
        {
            failures.Add($"{nameof(o.Drain)}.{nameof(o.Drain.CloseStatus)} ({(int)o.Drain.CloseStatus}) is not a close code valid on the wire; use 1012 (Service Restart) or 1001 (Going Away).");
        }

        var rate = o.InboundRateLimit;
        if (rate.MessagesPerSecond is < 1 || rate.BytesPerSecond is < 1)
        {
            failures.Add($"{nameof(o.InboundRateLimit)}: MessagesPerSecond and BytesPerSecond must be at least 1 when set (are {rate.MessagesPerSecond?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "unset"} and {rate.BytesPerSecond?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "unset"}).");
        }

        if (!Enum.IsDefined(rate.Policy))
        {
            failures.Add($"{nameof(o.InboundRateLimit)}.{nameof(rate.Policy)} must be BackPressure or Close (is {rate.Policy}).");
        }

        if (o.MaxReadAheadBytes < 0)
        {
            failures.Add($"{nameof(o.MaxReadAheadBytes)} cannot be negative.");
        }

        if (o.KeepAliveInterval < TimeSpan.Zero || o.KeepAliveTimeout <= TimeSpan.Zero || o.CloseTimeout <= TimeSpan.Zero || o.HandshakeTimeout <= TimeSpan.Zero)
        {
            failures.Add("KeepAliveInterval cannot be negative, and KeepAliveTimeout, CloseTimeout and HandshakeTimeout must be positive.");
        }

        if (o.MaxRequestHeadSize < 256)
        {
            failures.Add($"{nameof(o.MaxRequestHeadSize)} must be at least 256 bytes (is {o.MaxRequestHeadSize}).");
        }

        foreach (var protocol in o.SubProtocols)
        {
            if (!SubProtocols.IsValidName(protocol))
            {
                failures.Add($"Subprotocol '{protocol}' is not a valid token (RFC 6455 section 4.1).");
            }
        }

        try
        {
            o.Compression.Validate();
        }
        catch (ArgumentException ex)
        {
            failures.Add("Compression: " + ex.Message);
        }

        return failures;
    }
}
