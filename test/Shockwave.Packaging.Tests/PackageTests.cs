using System.Xml.Linq;
using Xunit.Abstractions;

namespace Shockwave.Packaging.Tests;

/// <summary>What <c>dotnet pack</c> of the solution produces, read back from the package files.</summary>
public sealed class PackageTests(PackedSolution packed, ITestOutputHelper output) : IClassFixture<PackedSolution>
{
    private const string RepositoryUrl = "https://github.com/shockwave-dotnet/shockwave";

    [Fact]
    public void SolutionPack_MakesOnePackageAndOneSymbolPackagePerSrcProject()
    {
        output.WriteLine($"pack took {packed.Pack!.Elapsed.TotalSeconds:F1} s");
        var files = Directory.GetFiles(packed.Directory).Select(f => Path.GetFileName(f)).Order(StringComparer.Ordinal).ToArray();
        foreach (string file in files)
        {
            output.WriteLine($"{file}: {new FileInfo(Path.Combine(packed.Directory, file)).Length} bytes");
        }

        string suffix = "." + Repository.Version;
        var packages = files.Where(f => f.EndsWith(".nupkg", StringComparison.Ordinal)).Select(f => f[..^".nupkg".Length]).ToArray();
        var symbols = files.Where(f => f.EndsWith(".snupkg", StringComparison.Ordinal)).Select(f => f[..^".snupkg".Length]).ToArray();
        Assert.All(packages, p => Assert.EndsWith(suffix, p, StringComparison.Ordinal));
        Assert.Equal(Repository.ShippingProjects, packages.Select(p => p[..^suffix.Length]).Order(StringComparer.Ordinal));
        Assert.Equal(packages, symbols);
        Assert.Contains("Shockwave.Middleware", Repository.ShippingProjects);
        Assert.Contains("Shockwave.Testing", Repository.ShippingProjects);
    }

    [Fact]
    public async Task EveryPackage_HasItsReadmeLicenseDescriptionTagsAndRepository()
    {
        string head = (await Commands.RunCheckedAsync("git", ["rev-parse", "HEAD"], Repository.Root, TimeSpan.FromSeconds(30))).Output.Trim();
        foreach (string id in Repository.ShippingProjects)
        {
            var nuspec = packed.Nuspec(id);
            XNamespace ns = nuspec.Name.Namespace;
            var metadata = nuspec.Element(ns + "metadata")!;
            string Get(string name) => metadata.Element(ns + name)?.Value ?? "";

            Assert.Equal(id, Get("id"));
            Assert.Equal(Repository.Version, Get("version"));
            Assert.Equal("expression", metadata.Element(ns + "license")?.Attribute("type")?.Value);
            Assert.Equal("MIT", Get("license"));
            Assert.Equal("README.md", Get("readme"));
            Assert.Contains("README.md", packed.Entries(id));
            Assert.False(string.IsNullOrWhiteSpace(Get("description")), $"{id} has no description");
            Assert.NotEqual("Package Description", Get("description"));
            Assert.False(string.IsNullOrWhiteSpace(Get("tags")), $"{id} has no tags");
            Assert.Equal(RepositoryUrl, Get("projectUrl"));
            var repository = metadata.Element(ns + "repository")!;
            Assert.Equal("git", repository.Attribute("type")?.Value);
            Assert.Equal(RepositoryUrl, repository.Attribute("url")?.Value);
            Assert.Equal(head, repository.Attribute("commit")?.Value);
        }
    }

    [Fact]
    public void EveryPackage_ShipsItsAssemblyWithXmlDocsAndItsPdbInTheSymbolPackage()
    {
        foreach (string id in Repository.ShippingProjects)
        {
            var entries = packed.Entries(id);
            Assert.Contains($"lib/net10.0/{id}.dll", entries);
            Assert.Contains($"lib/net10.0/{id}.xml", entries);
            Assert.DoesNotContain(entries, e => e.EndsWith(".pdb", StringComparison.Ordinal));
            Assert.Contains($"lib/net10.0/{id}.pdb", packed.Entries(id, ".snupkg"));
        }
    }

    [Fact]
    public void SiblingDependencies_ArePinnedToExactlyTheSameVersion()
    {
        foreach (string id in Repository.ShippingProjects)
        {
            var nuspec = packed.Nuspec(id);
            XNamespace ns = nuspec.Name.Namespace;
            var siblings = nuspec.Descendants(ns + "dependency")
                .Where(d => d.Attribute("id")!.Value.StartsWith("Shockwave.", StringComparison.Ordinal))
                .ToArray();

            // Exactly the project's own references to other src projects, each at [version].
            Assert.Equal(Repository.SiblingReferences(id), siblings.Select(d => d.Attribute("id")!.Value).Order(StringComparer.Ordinal));
            Assert.All(siblings, d => Assert.Equal($"[{Repository.Version}]", d.Attribute("version")!.Value));
        }

        Assert.Equal(["Shockwave.Runtime"], Repository.SiblingReferences("Shockwave.Middleware"));
    }
}
