namespace Shockwave.Packaging.Tests;

/// <summary>
/// The repository as CI checks it out: a <c>git clone</c> whose origin is a folder on the same machine. The folder is a
/// fresh repository holding this checkout's files as they are now (tracked and new, without what .gitignore leaves
/// out), so uncommitted work is what gets built.
/// </summary>
public sealed class LocalClone : IAsyncLifetime, IDisposable
{
    private readonly TempDirectory _directory = new("clone");

    /// <summary>The repository the clone was made from, its origin.</summary>
    public string Origin => Path.Combine(_directory.Path, "origin");

    /// <summary>The clone's work tree.</summary>
    public string WorkTree => Path.Combine(_directory.Path, "clone");

    public async Task InitializeAsync()
    {
        var files = await Commands.RunCheckedAsync(
            "git", ["ls-files", "-z", "--cached", "--others", "--exclude-standard"], Repository.Root, TimeSpan.FromMinutes(1));
        foreach (string file in files.Output.Split('\0', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            string source = Path.Combine(Repository.Root, file);
            if (!File.Exists(source))
            {
                continue; // deleted in the work tree, not yet in a commit
            }

            string destination = Path.Combine(Origin, file);
            Directory.CreateDirectory(Path.GetDirectoryName(destination)!);
            File.Copy(source, destination);
        }

        await Commands.GitAsync(Origin, "init", "--quiet");
        await Commands.GitAsync(Origin, "add", "--all");
        await Commands.GitAsync(Origin, "commit", "--quiet", "--message", "The work tree under test");
        await Commands.GitAsync(_directory.Path, "clone", "--quiet", Origin, WorkTree);
    }

    /// <summary>Builds one project of the clone in Release with warnings as errors.</summary>
    public Task<CommandResult> BuildAsync(string relativeProject) => Commands.RunAsync(
        "dotnet",
        ["build", relativeProject, "-c", "Release", "-warnaserror", "-nodeReuse:false"],
        WorkTree,
        TimeSpan.FromMinutes(3));

    public Task DisposeAsync() => Task.CompletedTask;

    public void Dispose() => _directory.Dispose();
}
