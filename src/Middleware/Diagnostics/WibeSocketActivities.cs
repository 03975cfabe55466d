using System.Diagnostics;

namespace Shockwave.Diagnostics;

/// <summary>
/// The library's <see cref="ActivitySource"/> ("Shockwave"): an activity for each upgrade, a child of the HTTP request's
/// activity, and one for each hub callback. <see cref="ActivitySource.StartActivity(string, ActivityKind)"/> returns null
/// when nobody listens, so nothing is allocated then.
/// </summary>
internal static class WibeSocketActivities
{
    public const string SourceName = "Shockwave";

    public static readonly ActivitySource Source = new(SourceName);
}
