using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.RateLimiting;
using Microsoft.AspNetCore.Routing;
using Microsoft.AspNetCore.Routing.Patterns;
using Microsoft.AspNetCore.Routing.Template;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Primitives;
using Shockwave.Diagnostics;
using Shockwave.Upgrade;

namespace Shockwave.Listener;

/// <summary>
/// The raw listener's view of the route table: the endpoints mapped with <c>MapWibeSocket</c>, found in the app's
/// <see cref="EndpointDataSource"/>, most specific first. Rebuilt when the data source reports a change.
/// </summary>
internal sealed class ListenerRouteTable
{
    /// <summary>The endpoint requires an authenticated or authorized user (metadata or the fallback policy).</summary>
    public const string RequiresAuthorization = "RequiresAuthorization";

    /// <summary>The endpoint has rate-limiting metadata.</summary>
    public const string RequiresRateLimiting = "RequiresRateLimiting";

    private readonly EndpointDataSource _dataSource;
    private readonly ParameterPolicyFactory? _policyFactory;
    private readonly AuthorizationPolicy? _fallbackPolicy;
    private readonly ILogger _logger;
    private readonly Lock _gate = new();
    private volatile Snapshot? _snapshot;

    public ListenerRouteTable(EndpointDataSource dataSource, ParameterPolicyFactory? policyFactory, AuthorizationPolicy? fallbackPolicy, ILogger logger)
    {
        _dataSource = dataSource;
        _policyFactory = policyFactory;
        _fallbackPolicy = fallbackPolicy;
        _logger = logger;
    }

    /// <summary>The current routes, in matching order.</summary>
    public IReadOnlyList<ListenerRoute> Routes => GetSnapshot().Routes;

    /// <summary>The first route whose pattern (and route constraints) match <paramref name="path"/>, or null.</summary>
    public ListenerRoute? Match(PathString path)
    {
        foreach (var route in GetSnapshot().Routes)
        {
            if (route.TryMatch(path))
            {
                return route;
            }
        }

        return null;
    }

    /// <summary>
    /// Why the raw listener must not serve an endpoint, or null when it may. There is no HTTP pipeline on the raw listener,
    /// so nothing would enforce authorization or rate limiting: such endpoints fail closed (403), never open.
    /// </summary>
    internal static string? GetRefusalReason(EndpointMetadataCollection metadata, AuthorizationPolicy? fallbackPolicy)
    {
        // As AuthorizationMiddleware: [AllowAnonymous] wins; otherwise [Authorize], policies, requirements, or, with none
        // of those, the fallback policy all demand a user the raw listener cannot authenticate.
        if (metadata.GetMetadata<IAllowAnonymous>() is null
            && (metadata.GetMetadata<IAuthorizeData>() is not null
                || metadata.GetMetadata<AuthorizationPolicy>() is not null
                || metadata.GetMetadata<IAuthorizationRequirementData>() is not null
                || fallbackPolicy is not null))
        {
            return RequiresAuthorization;
        }

        // As RateLimitingMiddleware: [DisableRateLimiting] wins over RequireRateLimiting/[EnableRateLimiting].
        if (metadata.GetMetadata<EnableRateLimitingAttribute>() is not null && metadata.GetMetadata<DisableRateLimitingAttribute>() is null)
        {
            return RequiresRateLimiting;
        }

        return null;
    }

    private Snapshot GetSnapshot()
    {
        var snapshot = _snapshot;
        if (snapshot is not null && !snapshot.ChangeToken.HasChanged)
        {
            return snapshot;
        }

        lock (_gate)
        {
            snapshot = _snapshot;
            if (snapshot is null || snapshot.ChangeToken.HasChanged)
            {
                snapshot = Build();
                _snapshot = snapshot;
            }

            return snapshot;
        }
    }

    private Snapshot Build()
    {
        // The token first: a change made while the endpoints are read then triggers another rebuild, never a stale table.
        var changeToken = _dataSource.GetChangeToken();
        var candidates = new List<(ListenerRoute Route, int Order, decimal Precedence)>();
        foreach (var endpoint in _dataSource.Endpoints)
        {
            if (endpoint is not RouteEndpoint routeEndpoint || endpoint.Metadata.GetMetadata<WibeSocketEndpointMetadata>() is not { } wibe)
            {
                continue;
            }

            var template = new RouteTemplate(routeEndpoint.RoutePattern);
            string? refusal = GetRefusalReason(endpoint.Metadata, _fallbackPolicy);
            if (refusal is not null)
            {
                Log.ListenerEndpointRefused(_logger, wibe.Pattern, refusal);
            }

            var route = new ListenerRoute(wibe.Endpoint, routeEndpoint.RoutePattern, template, CreateConstraints(routeEndpoint.RoutePattern), refusal);

            // Lower inbound precedence is more specific (literal before parameter before catch-all), as endpoint routing orders them.
            candidates.Add((route, routeEndpoint.Order, RoutePrecedence.ComputeInbound(template)));
        }

        candidates.Sort(static (a, b) =>
        {
            int c = a.Order.CompareTo(b.Order);
            if (c == 0)
            {
                c = a.Precedence.CompareTo(b.Precedence);
            }

            return c != 0 ? c : string.CompareOrdinal(a.Route.Pattern, b.Route.Pattern);
        });

        return new Snapshot(changeToken, candidates.ConvertAll(static c => c.Route));
    }

    private List<KeyValuePair<string, IRouteConstraint>> CreateConstraints(RoutePattern pattern)
    {
        var constraints = new List<KeyValuePair<string, IRouteConstraint>>();
        foreach (var (name, references) in pattern.ParameterPolicies)
        {
            foreach (var reference in references)
            {
                // The factory resolves inline constraints ("{id:int}") the same way endpoint routing does. Without it (no
                // AddRouting) there are no constraint types to resolve, and endpoint routing could not have built the route either.
                var policy = reference.ParameterPolicy ?? _policyFactory?.Create(pattern.GetParameter(name), reference);
                if (policy is IRouteConstraint constraint)
                {
                    constraints.Add(new(name, constraint));
                }
            }
        }

        return constraints;
    }

    private sealed record Snapshot(IChangeToken ChangeToken, List<ListenerRoute> Routes);
}

/// <summary>One routable WibeSocket endpoint.</summary>
internal sealed class ListenerRoute
{
    private readonly TemplateMatcher _matcher;
    private readonly List<KeyValuePair<string, IRouteConstraint>> _constraints;

    public ListenerRoute(WibeSocketEndpoint endpoint, RoutePattern pattern, RouteTemplate template, List<KeyValuePair<string, IRouteConstraint>> constraints, string? refusalReason)
    {
        Endpoint = endpoint;
        Pattern = pattern.RawText ?? endpoint.Pattern;
        _matcher = new TemplateMatcher(template, new RouteValueDictionary(pattern.Defaults));
        _constraints = constraints;
        RefusalReason = refusalReason;
    }

    public WibeSocketEndpoint Endpoint { get; }

    public string Pattern { get; }

    /// <summary>Null when the raw listener may serve the endpoint; otherwise the stable reason it answers 403.</summary>
    public string? RefusalReason { get; }

    public bool TryMatch(PathString path)
    {
        var values = new RouteValueDictionary();
        if (!_matcher.TryMatch(path, values))
        {
            return false;
        }

        foreach (var (name, constraint) in _constraints)
        {
            // Constraints that need an HttpContext get none: the raw listener has none to give.
            if (!constraint.Match(httpContext: null, route: null, name, values, RouteDirection.IncomingRequest))
            {
                return false;
            }
        }

        return true;
    }
}
