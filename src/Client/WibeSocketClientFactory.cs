using System.Diagnostics.Metrics;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Shockwave.Client;

/// <summary>
/// Creates named, configured <see cref="WibeSocketClient"/> instances, as <c>IHttpClientFactory</c> does for HTTP clients:
/// register each name with <see cref="WibeSocketClientServiceCollectionExtensions.AddWibeSocketClient(IServiceCollection, string, Action{WibeSocketClientOptions})"/>.
/// </summary>
public interface IWibeSocketClientFactory
{
    /// <summary>
    /// A client with the options configured for <paramref name="name"/>; a name never configured gets the defaults. The
    /// app's <c>ILoggerFactory</c>, <c>IMeterFactory</c> and <c>TimeProvider</c> are used when the options name none.
    /// </summary>
    WibeSocketClient CreateClient(string name);
}

/// <summary>Registers named WibeSocket clients.</summary>
public static class WibeSocketClientServiceCollectionExtensions
{
    /// <summary>
    /// Registers a client named <paramref name="name"/> configured by <paramref name="configure"/>, and
    /// <see cref="IWibeSocketClientFactory"/> to create it. Calling it again for the same name adds to its configuration.
    /// </summary>
    public static IServiceCollection AddWibeSocketClient(this IServiceCollection services, string name, Action<WibeSocketClientOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(name);
        ArgumentNullException.ThrowIfNull(configure);
        services.AddOptions();
        services.TryAddSingleton<IWibeSocketClientFactory, WibeSocketClientFactory>();
        services.Configure(name, configure);
        return services;
    }

    /// <summary>Registers <see cref="IWibeSocketClientFactory"/> alone: every name gets the default options.</summary>
    public static IServiceCollection AddWibeSocketClient(this IServiceCollection services)
    {
        ArgumentNullException.ThrowIfNull(services);
        services.AddOptions();
        services.TryAddSingleton<IWibeSocketClientFactory, WibeSocketClientFactory>();
        return services;
    }
}

/// <summary>The factory behind <see cref="IWibeSocketClientFactory"/>: the named options, completed with the app's services.</summary>
internal sealed class WibeSocketClientFactory(IOptionsMonitor<WibeSocketClientOptions> options, IServiceProvider services) : IWibeSocketClientFactory
{
    public WibeSocketClient CreateClient(string name)
    {
        ArgumentNullException.ThrowIfNull(name);

        // A copy: the monitor's instance is shared and may be reloaded; the client keeps what it was created with.
        var copy = new WibeSocketClientOptions();
        options.Get(name).CopyTo(copy);
        copy.LoggerFactory ??= services.GetService<ILoggerFactory>();
        copy.MeterFactory ??= services.GetService<IMeterFactory>();
        if (copy.TimeProvider == TimeProvider.System && services.GetService<TimeProvider>() is { } time)
        {
            copy.TimeProvider = time;
        }

        return new WibeSocketClient(copy);
    }
}
