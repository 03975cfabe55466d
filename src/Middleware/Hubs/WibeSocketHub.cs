using System.Diagnostics;
using Microsoft.Extensions.DependencyInjection;
using Shockwave.Diagnostics;
using Shockwave.Protocol;

namespace Shockwave;

/// <summary>
/// A per-connection handler: one instance per connection, created from DI when the connection opens.
/// </summary>
/// <remarks>
/// <para><b>Lifetime.</b> The hub lives as long as its connection, which may be hours, so its constructor should take
/// singletons and transients only. A scoped service (a <c>DbContext</c>, say) taken in the constructor would live for
/// the whole connection. Take scoped services from <see cref="Services"/> instead: each callback
/// (<see cref="OnConnectedAsync"/>, each <see cref="OnMessageAsync"/>, <see cref="OnDisconnectedAsync"/>) gets its own
/// DI scope, created on first use and disposed when the callback returns, as SignalR gives each hub invocation its own.</para>
/// <para><b>Messages.</b> A message's payload is valid only during <see cref="OnMessageAsync"/>; copy what you keep.</para>
/// </remarks>
public abstract class WibeSocketHub
{
    private IServiceProvider? _root;
    private AsyncServiceScope? _scope;

    /// <summary>The connection this hub serves.</summary>
    public WibeSocket Socket { get; private set; } = null!;

    /// <summary>Every connection of this hub type: broadcast, users and groups (the same as <c>IWibeSocketClients&lt;THub&gt;</c>).</summary>
    protected IWibeSocketClients Clients => Socket.Clients;

    /// <summary>Adds this connection to <paramref name="group"/>; membership ends with the connection.</summary>
    protected ValueTask JoinGroupAsync(string group, CancellationToken cancellationToken = default) =>
        Clients.AddToGroupAsync(Socket.ConnectionId, group, cancellationToken);

    /// <summary>Removes this connection from <paramref name="group"/>.</summary>
    protected ValueTask LeaveGroupAsync(string group, CancellationToken cancellationToken = default) =>
        Clients.RemoveFromGroupAsync(Socket.ConnectionId, group, cancellationToken);

    /// <summary>Services for the current callback, from a DI scope of its own (created on first use).</summary>
    protected IServiceProvider Services
    {
        get
        {
            _scope ??= _root!.CreateAsyncScope();
            return _scope.Value.ServiceProvider;
        }
    }

    /// <summary>Called once the connection is open, before any message.</summary>
    public virtual Task OnConnectedAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    /// <summary>Called for each message, one at a time, in order.</summary>
    public virtual Task OnMessageAsync(WibeSocketMessage message, CancellationToken cancellationToken) => Task.CompletedTask;

    /// <summary>
    /// Called once when the connection ends. <paramref name="closeStatus"/> is the peer's close code (or the one the
    /// connection was failed with); <paramref name="exception"/> is what a callback threw, if anything did.
    /// </summary>
    public virtual Task OnDisconnectedAsync(WebSocketCloseStatus? closeStatus, Exception? exception) => Task.CompletedTask;

    internal void Attach(WibeSocket socket, IServiceProvider root)
    {
        Socket = socket;
        _root = root;
    }

    internal async ValueTask EndInvocationAsync()
    {
        if (_scope is { } scope)
        {
            _scope = null;
            await scope.DisposeAsync().ConfigureAwait(false);
        }
    }
}

/// <summary>Runs a hub type as a connection handler.</summary>
internal static class HubHandler<THub>
    where THub : WibeSocketHub
{
    private static readonly ObjectFactory<THub> Factory = ActivatorUtilities.CreateFactory<THub>([]);

    public static Func<WibeSocket, CancellationToken, Task> Create(IServiceProvider root) =>
        (socket, cancellationToken) => RunAsync(root, socket, cancellationToken);

    private static async Task RunAsync(IServiceProvider root, WibeSocket socket, CancellationToken cancellationToken)
    {
        var hub = Factory(root, null);
        hub.Attach(socket, root);
        Exception? failure = null;
        try
        {
            try
            {
                using var activity = WibeSocketActivities.Source.StartActivity("WibeSocket hub connected", ActivityKind.Server);
                activity?.SetTag("shockwave.hub", typeof(THub).Name);
                await hub.OnConnectedAsync(cancellationToken).ConfigureAwait(false);
            }
            finally
            {
                await hub.EndInvocationAsync().ConfigureAwait(false);
            }

            while (true)
            {
                var message = await socket.ReceiveAsync(cancellationToken).ConfigureAwait(false);
                if (message.IsClose)
                {
                    break;
                }

                // Null (nothing allocated) unless a tracer listens to the "Shockwave" source.
                using var activity = WibeSocketActivities.Source.StartActivity("WibeSocket hub message", ActivityKind.Server);
                activity?.SetTag("shockwave.hub", typeof(THub).Name);
                try
                {
                    await hub.OnMessageAsync(message, cancellationToken).ConfigureAwait(false);
                }
                finally
                {
                    await hub.EndInvocationAsync().ConfigureAwait(false);
                }
            }
        }
        catch (Exception ex)
        {
            failure = ex;
            throw;
        }
        finally
        {
            try
            {
                await hub.OnDisconnectedAsync(socket.CloseStatus, failure).ConfigureAwait(false);
            }
            finally
            {
                await hub.EndInvocationAsync().ConfigureAwait(false);
                switch (hub)
                {
                    case IAsyncDisposable asyncDisposable:
                        await asyncDisposable.DisposeAsync().ConfigureAwait(false);
                        break;
                    case IDisposable disposable:
                        disposable.Dispose();
                        break;
                }
            }
        }
    }
}
