using System.Security;
using Xunit.Abstractions;

namespace Shockwave.Packaging.Tests;

/// <summary>
/// A team's first use of the packages: a new app and its test project, in a folder outside the repository, that know
/// the packages only from the folder pack wrote them to.
/// </summary>
public sealed class ConsumerTests(PackedSolution packed, ITestOutputHelper output) : IClassFixture<PackedSolution>
{
    private const string LocalSource = "shockwave-packages";

    [Fact]
    public async Task FreshConsumerOutsideTheRepository_BuildsAnAppAndPassesItsWebApplicationFactoryTest()
    {
        using var consumer = new TempDirectory("consumer");
        Assert.False(consumer.Path.StartsWith(Repository.Root, StringComparison.Ordinal));
        var sources = await MachineNuGetSourcesAsync(consumer.Path);
        File.WriteAllText(Path.Combine(consumer.Path, "nuget.config"), NuGetConfig(packed.Directory, sources));

        Directory.CreateDirectory(Path.Combine(consumer.Path, "App"));
        File.WriteAllText(Path.Combine(consumer.Path, "App", "App.csproj"), $"""
            <Project Sdk="Microsoft.NET.Sdk.Web">
              <PropertyGroup>
                <TargetFramework>net10.0</TargetFramework>
                <Nullable>enable</Nullable>
                <ImplicitUsings>enable</ImplicitUsings>
                <TreatWarningsAsErrors>true</TreatWarningsAsErrors>
              </PropertyGroup>
              <ItemGroup>
                <PackageReference Include="Shockwave.Middleware" Version="{Repository.Version}" />
              </ItemGroup>
            </Project>
            """);
        File.WriteAllText(Path.Combine(consumer.Path, "App", "Program.cs"), """
            using Shockwave;

            var builder = WebApplication.CreateBuilder(args);
            builder.Services.AddWibeSocket();
            var app = builder.Build();
            app.MapWibeSocket("/echo", async (WibeSocket socket, CancellationToken cancellationToken) =>
            {
                await foreach (var message in socket.ReadMessagesAsync(cancellationToken))
                {
                    await socket.SendAsync(message, cancellationToken);
                }
            });
            app.Run();

            public partial class Program;
            """);

        Directory.CreateDirectory(Path.Combine(consumer.Path, "App.Tests"));
        File.WriteAllText(Path.Combine(consumer.Path, "App.Tests", "App.Tests.csproj"), $"""
            <Project Sdk="Microsoft.NET.Sdk">
              <PropertyGroup>
                <TargetFramework>net10.0</TargetFramework>
                <Nullable>enable</Nullable>
                <ImplicitUsings>enable</ImplicitUsings>
                <TreatWarningsAsErrors>true</TreatWarningsAsErrors>
                <IsPackable>false</IsPackable>
              </PropertyGroup>
              <ItemGroup>
                <PackageReference Include="Shockwave.Testing" Version="{Repository.Version}" />
                <PackageReference Include="Microsoft.NET.Test.Sdk" Version="{Repository.CentralPackageVersion("Microsoft.NET.Test.Sdk")}" />
                <PackageReference Include="xunit" Version="{Repository.CentralPackageVersion("xunit")}" />
                <PackageReference Include="xunit.runner.visualstudio" Version="{Repository.CentralPackageVersion("xunit.runner.visualstudio")}" />
                <ProjectReference Include="../App/App.csproj" />
              </ItemGroup>
            </Project>
            """);
        File.WriteAllText(Path.Combine(consumer.Path, "App.Tests", "EchoTests.cs"), """
            using Microsoft.AspNetCore.Mvc.Testing;
            using Shockwave.Protocol;
            using Xunit;

            public class EchoTests
            {
                [Fact]
                public async Task Echo_SendsTheMessageBack()
                {
                    await using var factory = new WebApplicationFactory<Program>();
                    await using var ws = await factory.CreateWibeSocketClient().ConnectAsync("/echo");
                    await ws.SendTextAsync("hello from the packages");
                    var reply = await ws.ReceiveAsync();
                    Assert.Equal("hello from the packages", reply.Text);
                    var close = await ws.CloseAsync(WebSocketCloseStatus.NormalClosure, "done");
                    Assert.Equal(WebSocketCloseStatus.NormalClosure, close.CloseStatus);
                }
            }
            """);

        // Its own package folder: nothing restored earlier (an older Shockwave 0.1.0 in particular) can stand in.
        var environment = new Dictionary<string, string> { ["NUGET_PACKAGES"] = Path.Combine(consumer.Path, ".nuget-packages") };
        var test = await Commands.RunAsync(
            "dotnet",
            ["test", Path.Combine("App.Tests", "App.Tests.csproj"), "-nodeReuse:false", "--logger", "console;verbosity=normal"],
            consumer.Path,
            TimeSpan.FromMinutes(4),
            environment);
        output.WriteLine(test.ToString());
        Assert.True(test.ExitCode == 0, test.ToString());
        Assert.Matches(@"Passed\s+\S*Echo_SendsTheMessageBack", test.Output);
        Assert.Matches(@"Total tests:\s*1\s+Passed:\s*1\s", test.Output);

        // The Shockwave packages it used are the ones just packed, from the folder, and nothing from the source tree.
        foreach (string id in new[] { "shockwave.middleware", "shockwave.testing", "shockwave.runtime", "shockwave.protocol" })
        {
            string restored = Path.Combine(environment["NUGET_PACKAGES"], id, Repository.Version);
            Assert.True(Directory.Exists(restored), $"{id} {Repository.Version} was not restored into the consumer's package folder");
            Assert.Equal(
                File.ReadAllBytes(Directory.GetFiles(packed.Directory, "*.nupkg").Single(f => Path.GetFileName(f).StartsWith(id + ".", StringComparison.OrdinalIgnoreCase))),
                File.ReadAllBytes(Path.Combine(restored, $"{id}.{Repository.Version}.nupkg")));
        }

        var assets = File.ReadAllText(Path.Combine(consumer.Path, "App.Tests", "obj", "project.assets.json"));
        Assert.DoesNotContain(Repository.Root, assets, StringComparison.Ordinal);
    }

    /// <summary>The package sources this machine restores from (its NuGet configuration), to fetch everything that is not ours.</summary>
    private static async Task<IReadOnlyList<string>> MachineNuGetSourcesAsync(string directory)
    {
        var list = await Commands.RunCheckedAsync("dotnet", ["nuget", "list", "source", "--format", "short"], directory, TimeSpan.FromMinutes(1));
        var sources = list.Output
            .Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Where(line => line.StartsWith("E ", StringComparison.Ordinal))
            .Select(line => line[2..].Trim())
            .ToArray();
        Assert.True(sources.Length > 0, "no enabled NuGet source on this machine: " + list);
        return sources;
    }

    /// <summary>Our packages from the folder only (package source mapping), everything else from the machine's sources.</summary>
    private static string NuGetConfig(string packages, IReadOnlyList<string> sources)
    {
        string Escape(string value) => SecurityElement.Escape(value);
        var keys = sources.Select((_, i) => $"machine-{i}").ToArray();
        return $"""
            <?xml version="1.0" encoding="utf-8"?>
            <configuration>
              <packageSources>
                <clear />
                <add key="{LocalSource}" value="{Escape(packages)}" />
            {string.Concat(sources.Select((s, i) => $"    <add key=\"{keys[i]}\" value=\"{Escape(s)}\" />{Environment.NewLine}"))}  </packageSources>
              <packageSourceMapping>
                <packageSource key="{LocalSource}">
                  <package pattern="Shockwave.*" />
                </packageSource>
            {string.Concat(keys.Select(k => $"    <packageSource key=\"{k}\">{Environment.NewLine}      <package pattern=\"*\" />{Environment.NewLine}    </packageSource>{Environment.NewLine}"))}  </packageSourceMapping>
            </configuration>
            """;
    }
}
