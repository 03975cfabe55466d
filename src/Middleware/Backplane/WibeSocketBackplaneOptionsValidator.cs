using Microsoft.Extensions.Options;

namespace Shockwave.Backplane;

/// <summary>Checks <see cref="WibeSocketBackplaneOptions"/> at start, so a typo fails the deployment, not the first send.</summary>
internal sealed class WibeSocketBackplaneOptionsValidator : IValidateOptions<WibeSocketBackplaneOptions>
{
    public ValidateOptionsResult Validate(string? name, WibeSocketBackplaneOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        List<string>? failures = null;
        if (!IsName(options.ChannelPrefix, allowDot: true))
        {
            (failures ??= []).Add($"WibeSocket:Backplane:ChannelPrefix must be 1 to 64 letters, digits, '-', '_' or '.' (is '{options.ChannelPrefix}').");
        }

        if (!IsName(options.NodeId, allowDot: false))
        {
            (failures ??= []).Add($"WibeSocket:Backplane:NodeId must be 1 to 64 letters, digits, '-' or '_' (is '{options.NodeId}'); it starts every connection id, up to a '.'.");
        }

        if (options.MaxPayloadLength is < 1 or > 512 * 1024 * 1024)
        {
            (failures ??= []).Add($"WibeSocket:Backplane:MaxPayloadLength must be between 1 byte and 512 MiB (is {options.MaxPayloadLength}).");
        }

        if (options.PublishTimeout <= TimeSpan.Zero)
        {
            (failures ??= []).Add($"WibeSocket:Backplane:PublishTimeout must be positive (is {options.PublishTimeout}).");
        }

        return failures is null ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }

    private static bool IsName(string? value, bool allowDot)
    {
        if (string.IsNullOrEmpty(value) || value.Length > 64)
        {
            return false;
        }

        foreach (char c in value)
        {
            if (!char.IsAsciiLetterOrDigit(c) && c is not ('-' or '_') && !(allowDot && c == '.'))
            {
                return false;
            }
        }

        return true;
    }
}
