using System.Globalization;
using System.Text.RegularExpressions;
using YamlDotNet.RepresentationModel;

namespace Shockwave.Docs.Tests;

/// <summary>docs/kubernetes.md: its manifests, the chat container in them, and the settings its code sets.</summary>
internal static partial class KubernetesDoc
{
    public const string RelativePath = "docs/kubernetes.md";

    /// <summary><c>HostOptions.ShutdownTimeout</c> when the app does not set it.</summary>
    public static readonly TimeSpan DefaultHostShutdownTimeout = TimeSpan.FromSeconds(30);

    public static IReadOnlyList<Manifest> LoadManifests() =>
        MarkdownYaml.Blocks(MarkdownYaml.ReadDoc(RelativePath)).SelectMany(MarkdownYaml.Parse).ToList();

    public static Manifest ChatDeployment(IReadOnlyList<Manifest> manifests) =>
        manifests.SingleOrDefault(m => m.Kind == "Deployment" && m.Name == "chat") ?? throw new Xunit.Sdk.XunitException("No Deployment named chat.");

    public static YamlNode ChatContainer(IReadOnlyList<Manifest> manifests) =>
        ChatDeployment(manifests).Root.Items("spec", "template", "spec", "containers").SingleOrDefault(c => c.Text("name") == "chat")
        ?? throw new Xunit.Sdk.XunitException("The chat Deployment has no container named chat.");

    public static string? Env(YamlNode container, string name) =>
        container.Items("env").FirstOrDefault(e => e.Text("name") == name)?.Text("value");

    public static TimeSpan? EnvTimeSpan(YamlNode container, string name) =>
        Env(container, name) is { } value ? TimeSpan.Parse(value, CultureInfo.InvariantCulture) : null;

    /// <summary>The container's environment as configuration keys (<c>A__B</c> is <c>A:B</c>, as the environment provider reads it).</summary>
    public static Dictionary<string, string?> EnvAsConfiguration(YamlNode container) =>
        container.Items("env")
            .Where(e => e.Text("value") is not null)
            .ToDictionary(e => e.Text("name")!.Replace("__", ":", StringComparison.Ordinal), e => e.Text("value"));

    /// <summary>The <c>HostOptions.ShutdownTimeout</c> the page's code sets, or the host's default when it sets none.</summary>
    public static TimeSpan HostShutdownTimeout()
    {
        var match = ShutdownTimeoutInCode().Match(MarkdownYaml.ReadDoc(RelativePath));
        return match.Success ? TimeSpan.FromSeconds(int.Parse(match.Groups[1].Value, CultureInfo.InvariantCulture)) : DefaultHostShutdownTimeout;
    }

    [GeneratedRegex(@"ShutdownTimeout\s*=\s*TimeSpan\.FromSeconds\((\d+)\)")]
    private static partial Regex ShutdownTimeoutInCode();
}
