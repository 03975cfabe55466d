namespace Shockwave;

/// <summary>The rules for group names, checked wherever a name enters the library.</summary>
public static class WibeSocketGroups
{
    /// <summary>The longest group name, in UTF-16 code units: 256. Names are keys and may travel to a backplane; they stay short.</summary>
    public const int MaxNameLength = 256;

    /// <summary>Throws <see cref="ArgumentException"/> unless <paramref name="group"/> is a usable group name.</summary>
    public static void ThrowIfInvalidName(string group, string? parameterName = "group")
    {
        ArgumentNullException.ThrowIfNull(group, parameterName);
        if (group.Length == 0 || group.Length > MaxNameLength)
        {
            throw new ArgumentException($"A group name must be 1 to {MaxNameLength} characters long (is {group.Length}).", parameterName);
        }

        foreach (char c in group)
        {
            if (char.IsControl(c))
            {
                throw new ArgumentException("A group name cannot hold control characters.", parameterName);
            }
        }
    }
}
