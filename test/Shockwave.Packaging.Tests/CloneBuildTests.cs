using System.Reflection.Metadata;
using System.Text;
using Xunit.Abstractions;

namespace Shockwave.Packaging.Tests;

/// <summary>
/// SourceLink where it can work and nowhere else, and the convention check a new project under src/ meets first. All
/// on a clone whose origin is a local folder, as CI builds.
/// </summary>
public sealed class CloneBuildTests(LocalClone clone, ITestOutputHelper output) : IClassFixture<LocalClone>
{
    private const string Project = "src/Protocol/Shockwave.Protocol.csproj";
    private const string Pdb = "src/Protocol/bin/Release/net10.0/Shockwave.Protocol.pdb";

    /// <summary>The kind of a portable PDB's custom debug information that holds the SourceLink JSON.</summary>
    private static readonly Guid SourceLinkKind = new("CC110556-A091-4D38-9FEC-25AB9A351A6A");

    [Fact]
    public async Task CloneOfALocalFolder_BuildsWithWarningsAsErrorsAndNoSourceLink()
    {
        var origin = await Commands.GitAsync(clone.WorkTree, "remote", "get-url", "origin");
        Assert.Equal(clone.Origin, origin.Output.Trim());

        var build = await clone.BuildAsync(Project);
        output.WriteLine(build.ToString());
        Assert.True(build.ExitCode == 0, build.ToString());
        Assert.Matches(@"\b0 Warning\(s\)", build.Output);
        Assert.Null(SourceLinkJson(Path.Combine(clone.WorkTree, Pdb)));
    }

    [Fact]
    public async Task CloneWithAHostedOrigin_BuildsWithSourceLinkToThatRepository()
    {
        const string hosted = "https://github.com/shockwave-dotnet/shockwave";
        await Commands.GitAsync(clone.WorkTree, "remote", "set-url", "origin", hosted);
        try
        {
            var build = await clone.BuildAsync(Project);
            output.WriteLine(build.ToString());
            Assert.True(build.ExitCode == 0, build.ToString());

            string head = (await Commands.GitAsync(clone.WorkTree, "rev-parse", "HEAD")).Output.Trim();
            string? sourceLink = SourceLinkJson(Path.Combine(clone.WorkTree, Pdb));
            output.WriteLine(sourceLink ?? "(no SourceLink)");
            Assert.NotNull(sourceLink);
            Assert.Contains($"https://raw.githubusercontent.com/shockwave-dotnet/shockwave/{head}/*", sourceLink, StringComparison.Ordinal);
        }
        finally
        {
            await Commands.GitAsync(clone.WorkTree, "remote", "set-url", "origin", clone.Origin);
        }
    }

    [Fact]
    public async Task NewSrcProjectMissingConventions_FailsNamingEachMissingPiece()
    {
        string directory = Path.Combine(clone.WorkTree, "src", "Extra");
        Directory.CreateDirectory(directory);
        File.WriteAllText(Path.Combine(directory, "Shockwave.Extra.csproj"), """
            <Project Sdk="Microsoft.NET.Sdk">
            </Project>
            """);
        File.WriteAllText(Path.Combine(directory, "Extra.cs"), """
            namespace Shockwave.Extra;

            /// <summary>Something to compile.</summary>
            public static class Extra
            {
            }
            """);
        try
        {
            var build = await clone.BuildAsync("src/Extra/Shockwave.Extra.csproj");
            output.WriteLine(build.ToString());
            Assert.NotEqual(0, build.ExitCode);
            Assert.Contains("error SHOCKWAVE001: Shockwave.Extra ships as a package but sets no <Description>", build.Output, StringComparison.Ordinal);
            Assert.Contains("error SHOCKWAVE002: Shockwave.Extra ships as a package but sets no <PackageTags>", build.Output, StringComparison.Ordinal);
            Assert.Contains("error SHOCKWAVE003: Shockwave.Extra ships as a package but has no README.md", build.Output, StringComparison.Ordinal);
            Assert.Contains("error SHOCKWAVE004: Shockwave.Extra ships as a package but has no PublicAPI.Shipped.txt", build.Output, StringComparison.Ordinal);
            Assert.Contains("error SHOCKWAVE005: Shockwave.Extra ships as a package but has no PublicAPI.Unshipped.txt", build.Output, StringComparison.Ordinal);

            // With what the errors ask for, the same project builds: the public API analyzer then wants its one type listed.
            File.WriteAllText(Path.Combine(directory, "Shockwave.Extra.csproj"), """
                <Project Sdk="Microsoft.NET.Sdk">
                  <PropertyGroup>
                    <Description>An extra package.</Description>
                    <PackageTags>websocket</PackageTags>
                  </PropertyGroup>
                </Project>
                """);
            File.WriteAllText(Path.Combine(directory, "README.md"), "# Shockwave.Extra\n");
            File.WriteAllText(Path.Combine(directory, "PublicAPI.Shipped.txt"), "#nullable enable\n");
            File.WriteAllText(Path.Combine(directory, "PublicAPI.Unshipped.txt"), "Shockwave.Extra.Extra\n");
            var fixedBuild = await clone.BuildAsync("src/Extra/Shockwave.Extra.csproj");
            output.WriteLine(fixedBuild.ToString());
            Assert.True(fixedBuild.ExitCode == 0, fixedBuild.ToString());
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    [Fact]
    public async Task ShipPublicApiScript_MovesUnshippedIntoShippedAndTheBuildStillPasses()
    {
        string directory = Path.Combine(clone.WorkTree, "src", "Protocol");
        var unshipped = File.ReadAllLines(Path.Combine(directory, "PublicAPI.Unshipped.txt")).Where(l => l.Length > 0).ToArray();
        Assert.NotEmpty(unshipped);
        try
        {
            var ship = await Commands.RunCheckedAsync(
                "bash", ["scripts/ship-public-api.sh", "src/Protocol"], clone.WorkTree, TimeSpan.FromMinutes(1));
            output.WriteLine(ship.ToString());

            var shipped = File.ReadAllLines(Path.Combine(directory, "PublicAPI.Shipped.txt"));
            Assert.Equal("#nullable enable", shipped[0]);
            Assert.Equal(unshipped.Order(StringComparer.Ordinal), shipped.Skip(1));
            Assert.Equal("", File.ReadAllText(Path.Combine(directory, "PublicAPI.Unshipped.txt")));

            var build = await clone.BuildAsync(Project);
            output.WriteLine(build.ToString());
            Assert.True(build.ExitCode == 0, build.ToString());
        }
        finally
        {
            await Commands.GitAsync(clone.WorkTree, "checkout", "--", "src/Protocol");
        }
    }

    /// <summary>The SourceLink JSON the compiler embedded in a portable PDB, or null when it embedded none.</summary>
    private static string? SourceLinkJson(string pdbPath)
    {
        using var stream = File.OpenRead(pdbPath);
        using var provider = MetadataReaderProvider.FromPortablePdbStream(stream);
        var reader = provider.GetMetadataReader();
        foreach (var handle in reader.CustomDebugInformation)
        {
            var information = reader.GetCustomDebugInformation(handle);
            if (reader.GetGuid(information.Kind) == SourceLinkKind)
            {
                return Encoding.UTF8.GetString(reader.GetBlobBytes(information.Value));
            }
        }

        return null;
    }
}
