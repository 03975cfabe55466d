using System.Collections;
using System.Text;

namespace Shockwave.Protocol.Handshake;

/// <summary>
/// The field lines of a parsed HTTP/1.1 head, in arrival order, repeated names kept as separate entries so that a caller
/// can count them (RFC 6455 section 11.3 forbids repeating some). Name lookups ignore ASCII case (RFC 9110 section 5.1).
/// </summary>
public sealed class Http1HeaderCollection : IReadOnlyList<KeyValuePair<string, string>>
{
    private readonly List<KeyValuePair<string, string>> _fields;

    internal Http1HeaderCollection(List<KeyValuePair<string, string>> fields) => _fields = fields;

    /// <summary>The number of field lines.</summary>
    public int Count => _fields.Count;

    /// <summary>The field line at <paramref name="index"/>, in arrival order.</summary>
    public KeyValuePair<string, string> this[int index] => _fields[index];

    /// <summary>How many field lines are named <paramref name="name"/>.</summary>
    public int GetCount(ReadOnlySpan<char> name)
    {
        int count = 0;
        foreach (var field in _fields)
        {
            if (Ascii.EqualsIgnoreCase(field.Key, name))
            {
                count++;
            }
        }

        return count;
    }

    /// <summary>True if at least one field line is named <paramref name="name"/>.</summary>
    public bool Contains(ReadOnlySpan<char> name) => GetFirstValue(name) is not null;

    /// <summary>The value of the first field line named <paramref name="name"/>, or null.</summary>
    public string? GetFirstValue(ReadOnlySpan<char> name)
    {
        foreach (var field in _fields)
        {
            if (Ascii.EqualsIgnoreCase(field.Key, name))
            {
                return field.Value;
            }
        }

        return null;
    }

    /// <summary>
    /// The values of every field line named <paramref name="name"/> joined with <c>", "</c>, which RFC 9110 section 5.3 makes
    /// equivalent for list-valued fields; null when there is none. A single line's value is returned as is, without copying.
    /// </summary>
    public string? GetCombinedValue(ReadOnlySpan<char> name)
    {
        string? first = null;
        StringBuilder? combined = null;
        foreach (var field in _fields)
        {
            if (!Ascii.EqualsIgnoreCase(field.Key, name))
            {
                continue;
            }

            if (first is null)
            {
                first = field.Value;
            }
            else
            {
                combined ??= new StringBuilder(first);
                combined.Append(", ").Append(field.Value);
            }
        }

        return combined?.ToString() ?? first;
    }

    /// <summary>Enumerates the field lines in arrival order without allocating.</summary>
    public List<KeyValuePair<string, string>>.Enumerator GetEnumerator() => _fields.GetEnumerator();

    IEnumerator<KeyValuePair<string, string>> IEnumerable<KeyValuePair<string, string>>.GetEnumerator() => GetEnumerator();

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();
}
