using System.IO.Compression;
using System.Xml.Linq;

[assembly: CollectionBehavior(DisableTestParallelization = true)]

namespace Shockwave.Packaging.Tests;

/// <summary>
/// <c>dotnet pack Shockwave.sln</c> into a temporary folder, once for the tests that read the packages. It packs the
/// build the test run already made (<c>--no-build</c>, same configuration), as a release would pack what CI built.
/// </summary>
public sealed class PackedSolution : IAsyncLifetime, IDisposable
{
    private readonly TempDirectory _directory = new("packages");

    /// <summary>The folder holding the .nupkg and .snupkg files, and nothing else.</summary>
    public string Directory => _directory.Path;

    /// <summary>What <c>dotnet pack</c> printed and how long it took.</summary>
    public CommandResult? Pack { get; private set; }

    public async Task InitializeAsync()
    {
        Pack = await Commands.RunCheckedAsync(
            "dotnet",
            ["pack", Path.Combine(Repository.Root, "Shockwave.sln"), "-c", Repository.Configuration, "--no-build", "-o", Directory, "-nodeReuse:false"],
            Repository.Root,
            TimeSpan.FromMinutes(3));
    }

    /// <summary>The path of a package file, failing the test when pack did not make it.</summary>
    public string PackagePath(string id, string extension = ".nupkg")
    {
        string path = Path.Combine(Directory, $"{id}.{Repository.Version}{extension}");
        Assert.True(File.Exists(path), $"no {Path.GetFileName(path)} among: {string.Join(", ", System.IO.Directory.GetFiles(Directory).Select(Path.GetFileName))}");
        return path;
    }

    /// <summary>The package's .nuspec (its metadata as NuGet reads it).</summary>
    public XElement Nuspec(string id)
    {
        using var package = ZipFile.OpenRead(PackagePath(id));
        var entry = package.Entries.Single(e => e.FullName == id + ".nuspec");
        using var stream = entry.Open();
        return XDocument.Load(stream).Root!;
    }

    /// <summary>The file names inside a package, with their folders.</summary>
    public IReadOnlyList<string> Entries(string id, string extension = ".nupkg")
    {
        using var package = ZipFile.OpenRead(PackagePath(id, extension));
        return package.Entries.Select(e => e.FullName).ToArray();
    }

    public Task DisposeAsync() => Task.CompletedTask;

    public void Dispose() => _directory.Dispose();
}
