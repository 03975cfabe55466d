using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace Shockwave.Docs.Tests;

/// <summary>One YAML document of a fenced <c>yaml</c> block, and where it came from (for failure messages).</summary>
public sealed record Manifest(YamlMappingNode Root, int BlockLine)
{
    public string Kind => Root.Text("kind") ?? "";

    public string Name => Root.Text("metadata", "name") ?? "";

    public override string ToString() => $"{Kind}/{Name} (yaml block at line {BlockLine})";
}

/// <summary>A fenced <c>yaml</c> block of a markdown file: its text and the line of its opening fence.</summary>
public sealed record YamlBlock(string Text, int Line);

internal static class MarkdownYaml
{
    /// <summary>The folder holding Shockwave.sln, found by walking up from the test assembly.</summary>
    public static string RepositoryRoot { get; } = FindRepositoryRoot();

    public static string ReadDoc(string relativePath) => File.ReadAllText(Path.Combine(RepositoryRoot, relativePath));

    /// <summary>Every block opened by a <c>```yaml</c> (or <c>```yml</c>) fence and closed by a <c>```</c> fence.</summary>
    public static IReadOnlyList<YamlBlock> Blocks(string markdown)
    {
        var blocks = new List<YamlBlock>();
        var lines = markdown.Split('\n');
        for (int i = 0; i < lines.Length; i++)
        {
            var fence = lines[i].Trim();
            if (fence is not ("```yaml" or "```yml"))
            {
                continue;
            }

            int start = i + 1;
            int end = start;
            while (end < lines.Length && lines[end].Trim() != "```")
            {
                end++;
            }

            if (end == lines.Length)
            {
                throw new InvalidOperationException($"The yaml block at line {i + 1} is never closed.");
            }

            blocks.Add(new YamlBlock(string.Join('\n', lines[start..end]), i + 1));
            i = end;
        }

        return blocks;
    }

    /// <summary>Parses a block into its documents; a document that is not a mapping is an error.</summary>
    public static IReadOnlyList<Manifest> Parse(YamlBlock block)
    {
        var stream = new YamlStream();
        try
        {
            stream.Load(new StringReader(block.Text));
        }
        catch (Exception e) when (e is YamlException or InvalidOperationException)
        {
            // YamlDotNet reports some syntax errors (an unclosed flow sequence) as InvalidOperationException.
            throw new InvalidOperationException($"The yaml block at line {block.Line} does not parse: {e.Message}", e);
        }

        return stream.Documents
            .Select(d => d.RootNode as YamlMappingNode
                ?? throw new InvalidOperationException($"A document of the yaml block at line {block.Line} is not a mapping."))
            .Select(root => new Manifest(root, block.Line))
            .ToList();
    }

    public static YamlNode? Get(this YamlNode node, params string[] path)
    {
        var current = node;
        foreach (var key in path)
        {
            if (current is not YamlMappingNode map)
            {
                return null;
            }

            current = map.Children.FirstOrDefault(c => c.Key is YamlScalarNode { Value: var k } && k == key).Value;
            if (current is null)
            {
                return null;
            }
        }

        return current;
    }

    public static string? Text(this YamlNode node, params string[] path) => node.Get(path) is YamlScalarNode scalar ? scalar.Value : null;

    public static IReadOnlyList<YamlNode> Items(this YamlNode node, params string[] path) =>
        node.Get(path) is YamlSequenceNode sequence ? sequence.Children.ToList() : [];

    private static string FindRepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Shockwave.sln")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException($"No Shockwave.sln above {AppContext.BaseDirectory}.");
    }
}
