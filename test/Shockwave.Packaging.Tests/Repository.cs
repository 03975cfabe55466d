using System.Xml.Linq;

namespace Shockwave.Packaging.Tests;

/// <summary>The checkout these tests were built from, and what its build files say.</summary>
internal static class Repository
{
    /// <summary>The folder holding Shockwave.sln, found by walking up from the test assembly.</summary>
    public static string Root { get; } = FindRoot();

    /// <summary>The configuration this test assembly was built in (bin/&lt;Configuration&gt;/&lt;tfm&gt;/).</summary>
    public static string Configuration { get; } = new DirectoryInfo(AppContext.BaseDirectory).Parent!.Name;

    /// <summary>The one version every package carries: VersionPrefix in src/Directory.Build.props.</summary>
    public static string Version { get; } = ReadVersion();

    /// <summary>Every project under src/, by file name: each one ships as a package of that id.</summary>
    public static IReadOnlyList<string> ShippingProjects { get; } = Directory
        .GetFiles(Path.Combine(Root, "src"), "*.csproj", SearchOption.AllDirectories)
        .Where(path => Path.GetDirectoryName(Path.GetDirectoryName(path)) == Path.Combine(Root, "src"))
        .Select(path => Path.GetFileNameWithoutExtension(path))
        .Order(StringComparer.Ordinal)
        .ToArray();

    /// <summary>The project file of a shipping project.</summary>
    public static string ProjectFile(string name) => Directory
        .GetFiles(Path.Combine(Root, "src"), name + ".csproj", SearchOption.AllDirectories)
        .Single();

    /// <summary>The shipping projects a shipping project references, by name.</summary>
    public static IReadOnlyList<string> SiblingReferences(string name) => XDocument.Load(ProjectFile(name))
        .Descendants("ProjectReference")
        .Select(reference => Path.GetFileNameWithoutExtension(reference.Attribute("Include")!.Value.Replace('\\', '/')))
        .Order(StringComparer.Ordinal)
        .ToArray();

    /// <summary>A version pinned in Directory.Packages.props, so the consumer app restores what this repository restores.</summary>
    public static string CentralPackageVersion(string id) => XDocument.Load(Path.Combine(Root, "Directory.Packages.props"))
        .Descendants("PackageVersion")
        .Single(p => string.Equals(p.Attribute("Include")?.Value, id, StringComparison.OrdinalIgnoreCase))
        .Attribute("Version")!.Value;

    private static string ReadVersion()
    {
        var prefixes = XDocument.Load(Path.Combine(Root, "src", "Directory.Build.props")).Descendants("VersionPrefix").ToArray();
        Assert.True(prefixes.Length == 1, $"src/Directory.Build.props should set VersionPrefix exactly once, found {prefixes.Length}");
        return prefixes[0].Value.Trim();
    }

    private static string FindRoot()
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            if (File.Exists(Path.Combine(directory.FullName, "Shockwave.sln")))
            {
                return directory.FullName;
            }
        }

        throw new InvalidOperationException($"No Shockwave.sln above {AppContext.BaseDirectory}: the packaging tests run from a repository checkout.");
    }
}
