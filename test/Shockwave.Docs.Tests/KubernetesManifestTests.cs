using System.Globalization;
using System.Text.RegularExpressions;
using YamlDotNet.RepresentationModel;
using static Shockwave.Docs.Tests.KubernetesDoc;

namespace Shockwave.Docs.Tests;

/// <summary>
/// The manifests of docs/kubernetes.md: each yaml block parses, the probes reach the health endpoints, the termination
/// budget holds the preStop sleep and the whole drain, the proxy outlives the keep-alive, and the objects point at
/// each other. Options the manifests leave unset count at the library's own defaults.
/// </summary>
public sealed partial class KubernetesManifestTests
{
    /// <summary>Seconds the grace period must keep beyond preStop + drain window + close timeout, for the process to exit.</summary>
    private const int MinimumMarginSeconds = 3;

    private static readonly WibeSocketOptions LibraryDefaults = new();

    [Fact]
    public void EveryYamlBlock_ParsesIntoDocumentsWithApiVersionAndKind()
    {
        var blocks = MarkdownYaml.Blocks(MarkdownYaml.ReadDoc(KubernetesDoc.RelativePath));
        Assert.NotEmpty(blocks);

        var kinds = new List<string>();
        foreach (var block in blocks)
        {
            var manifests = MarkdownYaml.Parse(block);
            Assert.True(manifests.Count > 0, $"The yaml block at line {block.Line} holds no document.");
            foreach (var manifest in manifests)
            {
                Assert.False(string.IsNullOrWhiteSpace(manifest.Root.Text("apiVersion")), $"A document of the yaml block at line {block.Line} has no apiVersion.");
                Assert.False(string.IsNullOrWhiteSpace(manifest.Kind), $"A document of the yaml block at line {block.Line} has no kind.");
                Assert.False(string.IsNullOrWhiteSpace(manifest.Name), $"{manifest} has no metadata.name.");
                kinds.Add(manifest.Kind);
            }
        }

        Assert.Equal(["Deployment", "Deployment", "Ingress", "PodDisruptionBudget", "Service", "Service"], kinds.Order(StringComparer.Ordinal));
    }

    [Fact]
    public void ChatDeployment_ProbesAskTheHealthEndpointsOnTheContainerPort()
    {
        var container = ChatContainer(LoadManifests());
        int containerPort = SinglePort(container);

        Assert.Equal("/health/ready", container.Text("readinessProbe", "httpGet", "path"));
        Assert.Equal(containerPort, ResolvePort(container, container.Get("readinessProbe", "httpGet", "port")));
        Assert.Equal("/health/live", container.Text("livenessProbe", "httpGet", "path"));
        Assert.Equal(containerPort, ResolvePort(container, container.Get("livenessProbe", "httpGet", "port")));
    }

    [Fact]
    public void ChatDeployment_AppListensOnTheContainerPort()
    {
        var container = ChatContainer(LoadManifests());
        var urls = Env(container, "ASPNETCORE_URLS") ?? throw new Xunit.Sdk.XunitException("The chat container does not set ASPNETCORE_URLS.");

        var ports = urls.Split(';').Select(u => int.Parse(UrlPort().Match(u).Groups[1].Value, CultureInfo.InvariantCulture));
        Assert.Contains(SinglePort(container), ports);
    }

    [Fact]
    public void ChatDeployment_GracePeriodCoversPreStopSleepDrainWindowAndCloseTimeout()
    {
        var manifests = LoadManifests();
        var chat = ChatDeployment(manifests);
        var container = ChatContainer(manifests);

        var grace = TimeSpan.FromSeconds(int.Parse(
            chat.Root.Text("spec", "template", "spec", "terminationGracePeriodSeconds") ?? throw new Xunit.Sdk.XunitException("The chat Deployment does not set terminationGracePeriodSeconds (the default, 30 s, is too short)."),
            CultureInfo.InvariantCulture));
        var preStop = PreStopSleep(container);
        var window = TimeSpan.Parse(
            Env(container, "WibeSocket__Drain__Window") ?? throw new Xunit.Sdk.XunitException("The chat container does not set WibeSocket__Drain__Window."),
            CultureInfo.InvariantCulture);
        var closeTimeout = EnvTimeSpan(container, "WibeSocket__CloseTimeout") ?? LibraryDefaults.CloseTimeout;

        Assert.True(preStop > TimeSpan.Zero, "The preStop hook must sleep: endpoint removal is asynchronous.");
        Assert.True(window > TimeSpan.Zero, "The drain window must be positive.");
        var needed = preStop + window + closeTimeout + TimeSpan.FromSeconds(MinimumMarginSeconds);
        Assert.True(grace >= needed,
            $"terminationGracePeriodSeconds ({grace.TotalSeconds} s) < preStop {preStop.TotalSeconds} s + drain window {window.TotalSeconds} s + close timeout {closeTimeout.TotalSeconds} s + margin {MinimumMarginSeconds} s.");
    }

    [Fact]
    public void HostShutdownTimeout_HoldsTheDrainAndEndsBeforeTheKubeletKills()
    {
        var manifests = LoadManifests();
        var container = ChatContainer(manifests);

        var shutdownTimeout = KubernetesDoc.HostShutdownTimeout();
        var window = EnvTimeSpan(container, "WibeSocket__Drain__Window") ?? throw new Xunit.Sdk.XunitException("The chat container does not set WibeSocket__Drain__Window.");
        var closeTimeout = EnvTimeSpan(container, "WibeSocket__CloseTimeout") ?? LibraryDefaults.CloseTimeout;
        var grace = TimeSpan.FromSeconds(int.Parse(ChatDeployment(manifests).Root.Text("spec", "template", "spec", "terminationGracePeriodSeconds")!, CultureInfo.InvariantCulture));

        Assert.True(shutdownTimeout >= window + closeTimeout,
            $"HostOptions.ShutdownTimeout ({shutdownTimeout.TotalSeconds} s) < drain window {window.TotalSeconds} s + close timeout {closeTimeout.TotalSeconds} s: the library refuses to start.");
        var preStop = PreStopSleep(container);
        Assert.True(grace >= preStop + shutdownTimeout,
            $"terminationGracePeriodSeconds ({grace.TotalSeconds} s) < preStop {preStop.TotalSeconds} s + HostOptions.ShutdownTimeout {shutdownTimeout.TotalSeconds} s: SIGKILL would come before the host's own timeout.");
    }

    [Fact]
    public void Ingress_TimeoutsOutliveTheKeepAliveAndRouteToTheChatService()
    {
        var manifests = LoadManifests();
        var ingress = manifests.Single(m => m.Kind == "Ingress");
        var keepAlive = EnvTimeSpan(ChatContainer(manifests), "WibeSocket__KeepAliveInterval") ?? LibraryDefaults.KeepAliveInterval;

        foreach (var annotation in new[] { "nginx.ingress.kubernetes.io/proxy-read-timeout", "nginx.ingress.kubernetes.io/proxy-send-timeout" })
        {
            var value = ingress.Root.Text("metadata", "annotations", annotation) ?? throw new Xunit.Sdk.XunitException($"{ingress} has no {annotation} (the default, 60 s, would be checked here).");
            var seconds = int.Parse(value, CultureInfo.InvariantCulture);
            Assert.True(TimeSpan.FromSeconds(seconds) > keepAlive, $"{annotation} ({seconds} s) does not exceed the keep-alive interval ({keepAlive.TotalSeconds} s): idle connections would be cut.");
        }

        var service = ChatService(manifests);
        var backends = ingress.Root.Items("spec", "rules")
            .SelectMany(r => r.Items("http", "paths"))
            .Select(p => p.Get("backend", "service") ?? throw new Xunit.Sdk.XunitException($"{ingress} has a path with no backend service."))
            .ToList();
        Assert.NotEmpty(backends);
        foreach (var backend in backends)
        {
            Assert.Equal(service.Name, backend.Text("name"));
            var servicePort = FindServicePort(service, backend.Text("port", "name"), backend.Text("port", "number"));
            Assert.True(servicePort is not null, $"{ingress} routes to a port {service} does not have.");
        }
    }

    [Fact]
    public void ChatService_TargetsTheContainerPortOfTheChatPods()
    {
        var manifests = LoadManifests();
        var container = ChatContainer(manifests);
        var service = ChatService(manifests);

        var ports = service.Root.Items("spec", "ports");
        Assert.NotEmpty(ports);
        foreach (var port in ports)
        {
            var target = port.Get("targetPort") ?? port.Get("port");
            Assert.True(ResolvePort(container, target) == SinglePort(container), $"{service} targets port '{target}', not the chat container's port {SinglePort(container)}.");
        }
    }

    [Fact]
    public void PodDisruptionBudget_CoversTheChatPodsAndAllowsOneAtATime()
    {
        var manifests = LoadManifests();
        var chat = ChatDeployment(manifests);
        var budget = manifests.Single(m => m.Kind == "PodDisruptionBudget");
        int replicas = int.Parse(chat.Root.Text("spec", "replicas") ?? "1", CultureInfo.InvariantCulture);

        Assert.True(Selects(budget.Root.Get("spec", "selector", "matchLabels"), PodLabels(chat)), $"{budget} does not select the chat pods.");
        var maxUnavailable = budget.Root.Text("spec", "maxUnavailable");
        var minAvailable = budget.Root.Text("spec", "minAvailable");
        int allowed = maxUnavailable is not null
            ? int.Parse(maxUnavailable, CultureInfo.InvariantCulture)
            : replicas - int.Parse(minAvailable ?? throw new Xunit.Sdk.XunitException($"{budget} sets neither maxUnavailable nor minAvailable."), CultureInfo.InvariantCulture);
        Assert.True(allowed >= 1, $"{budget} allows no disruption: node drains would block.");
        Assert.True(allowed < replicas, $"{budget} lets every chat pod go at once.");
    }

    [Fact]
    public void Redis_HasAServiceAndTheConnectionStringNamesIt()
    {
        var manifests = LoadManifests();
        var redis = manifests.Single(m => m.Kind == "Deployment" && m.Name != "chat");
        var redisContainer = Assert.Single(redis.Root.Items("spec", "template", "spec", "containers"));
        Assert.StartsWith("redis:", redisContainer.Text("image"), StringComparison.Ordinal);

        var service = manifests.SingleOrDefault(m => m.Kind == "Service" && Selects(m.Root.Get("spec", "selector"), PodLabels(redis)))
            ?? throw new Xunit.Sdk.XunitException($"No Service selects the pods of {redis}.");
        var servicePort = Assert.Single(service.Root.Items("spec", "ports"));
        Assert.Equal(SinglePort(redisContainer), ResolvePort(redisContainer, servicePort.Get("targetPort") ?? servicePort.Get("port")));

        var connectionString = Env(ChatContainer(manifests), "ConnectionStrings__Redis") ?? throw new Xunit.Sdk.XunitException("The chat container does not set ConnectionStrings__Redis.");
        var endpoint = connectionString.Split(',')[0].Split(':');
        Assert.Equal(service.Name, endpoint[0].Split('.')[0]);
        Assert.Equal(servicePort.Text("port"), endpoint.Length > 1 ? endpoint[1] : "6379");
    }

    private static Manifest ChatService(IReadOnlyList<Manifest> manifests)
    {
        var labels = PodLabels(ChatDeployment(manifests));
        return manifests.SingleOrDefault(m => m.Kind == "Service" && Selects(m.Root.Get("spec", "selector"), labels))
            ?? throw new Xunit.Sdk.XunitException("No Service selects the chat pods.");
    }

    private static Dictionary<string, string> PodLabels(Manifest deployment) =>
        (deployment.Root.Get("spec", "template", "metadata", "labels") as YamlMappingNode)?.Children
            .ToDictionary(c => ((YamlScalarNode)c.Key).Value!, c => ((YamlScalarNode)c.Value).Value!)
        ?? [];

    private static bool Selects(YamlNode? selector, Dictionary<string, string> labels) =>
        selector is YamlMappingNode { Children.Count: > 0 } map
        && map.Children.All(c => labels.TryGetValue(((YamlScalarNode)c.Key).Value!, out var v) && v == ((YamlScalarNode)c.Value).Value);

    private static int SinglePort(YamlNode container)
    {
        var port = Assert.Single(container.Items("ports"));
        return int.Parse(port.Text("containerPort")!, CultureInfo.InvariantCulture);
    }

    /// <summary>A port given by number, or by the name of one of the container's ports, as Kubernetes resolves it.</summary>
    private static int? ResolvePort(YamlNode container, YamlNode? port)
    {
        if (port is not YamlScalarNode { Value: { } value })
        {
            return null;
        }

        if (int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out int number))
        {
            return number;
        }

        var named = container.Items("ports").FirstOrDefault(p => p.Text("name") == value);
        return named is null ? null : int.Parse(named.Text("containerPort")!, CultureInfo.InvariantCulture);
    }

    private static YamlNode? FindServicePort(Manifest service, string? name, string? number) =>
        service.Root.Items("spec", "ports").FirstOrDefault(p => (name is not null && p.Text("name") == name) || (number is not null && p.Text("port") == number));

    /// <summary>The <c>sleep</c> action's seconds, or the seconds of a <c>sleep N</c> in an <c>exec</c> command.</summary>
    private static TimeSpan PreStopSleep(YamlNode container)
    {
        if (container.Text("lifecycle", "preStop", "sleep", "seconds") is { } seconds)
        {
            return TimeSpan.FromSeconds(int.Parse(seconds, CultureInfo.InvariantCulture));
        }

        var command = string.Join(' ', container.Items("lifecycle", "preStop", "exec", "command").OfType<YamlScalarNode>().Select(s => s.Value));
        var match = SleepCommand().Match(command);
        return match.Success
            ? TimeSpan.FromSeconds(double.Parse(match.Groups[1].Value, CultureInfo.InvariantCulture))
            : throw new Xunit.Sdk.XunitException("The chat container has no preStop hook that sleeps.");
    }

    [GeneratedRegex(@":(\d+)/?$")]
    private static partial Regex UrlPort();

    [GeneratedRegex(@"\bsleep\s+(\d+(?:\.\d+)?)\b")]
    private static partial Regex SleepCommand();

}
