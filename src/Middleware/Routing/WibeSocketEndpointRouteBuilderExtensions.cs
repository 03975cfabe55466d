using System.Diagnostics.CodeAnalysis;
using Microsoft.AspNetCore.Http.Timeouts;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Shockwave;
using Shockwave.Upgrade;

namespace Microsoft.AspNetCore.Builder;

/// <summary>Maps WibeSocket endpoints with endpoint routing.</summary>
public static class WibeSocketEndpointRouteBuilderExtensions
{
    /// <summary>
    /// Maps a WebSocket endpoint whose connections run <paramref name="handler"/>. The returned builder takes the usual
    /// conventions: <c>RequireAuthorization()</c>, <c>RequireRateLimiting()</c> (applied to the upgrade request), metadata.
    /// </summary>
    /// <param name="endpoints">The route builder.</param>
    /// <param name="pattern">The route pattern, for example <c>/ws</c>.</param>
    /// <param name="handler">Runs once per connection; the connection closes (1000) when it returns.</param>
    /// <param name="configure">Overrides of the server-wide <see cref="WibeSocketOptions"/> for this endpoint.</param>
    public static IEndpointConventionBuilder MapWibeSocket(this IEndpointRouteBuilder endpoints, [StringSyntax("Route")] string pattern, Func<WibeSocket, CancellationToken, Task> handler, Action<WibeSocketOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        ArgumentNullException.ThrowIfNull(handler);
        return Map(endpoints, pattern, handler, configure, handlerType: null);
    }

    /// <summary>
    /// Maps a WebSocket endpoint served by a <typeparamref name="THub"/> per connection. Attributes on the hub type
    /// (such as <c>[Authorize]</c>) become endpoint metadata.
    /// </summary>
    public static IEndpointConventionBuilder MapWibeSocket<[DynamicallyAccessedMembers(DynamicallyAccessedMemberTypes.PublicConstructors)] THub>(this IEndpointRouteBuilder endpoints, [StringSyntax("Route")] string pattern, Action<WibeSocketOptions>? configure = null)
        where THub : WibeSocketHub
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        return Map(endpoints, pattern, HubHandler<THub>.Create(endpoints.ServiceProvider), configure, typeof(THub));
    }

    private static RouteHandlerBuilderAdapter Map(IEndpointRouteBuilder endpoints, string pattern, Func<WibeSocket, CancellationToken, Task> handler, Action<WibeSocketOptions>? configure, Type? handlerType)
    {
        if (endpoints.ServiceProvider.GetService<WibeSocketMarkerService>() is null)
        {
            throw new InvalidOperationException("Unable to find the required services. Add them by calling 'builder.Services.AddWibeSocket()'.");
        }

        var endpoint = new WibeSocketEndpoint(pattern, handler, configure, endpoints.ServiceProvider, (object?)handlerType ?? pattern);
        var builder = endpoints.Map(pattern, endpoint.HandleAsync);
        builder.WithDisplayName($"WibeSocket {pattern}");
        builder.WithMetadata(new WibeSocketEndpointMetadata(endpoint));

        // A connection lives for hours: the request-timeouts middleware must leave it alone (as SignalR does).
        builder.WithMetadata(new DisableRequestTimeoutAttribute());
        if (handlerType is not null)
        {
            foreach (var attribute in handlerType.GetCustomAttributes(inherit: true))
            {
                builder.WithMetadata(attribute);
            }
        }

        return new RouteHandlerBuilderAdapter(builder);
    }

    /// <summary>Keeps the returned type an <see cref="IEndpointConventionBuilder"/>, without exposing the inner builder.</summary>
    private sealed class RouteHandlerBuilderAdapter(IEndpointConventionBuilder inner) : IEndpointConventionBuilder
    {
        public void Add(Action<EndpointBuilder> convention) => inner.Add(convention);

        public void Finally(Action<EndpointBuilder> finallyConvention) => inner.Finally(finallyConvention);
    }
}
