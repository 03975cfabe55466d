using System.Security.Claims;

namespace Shockwave.Clients;

/// <summary>The default user id: the <see cref="ClaimTypes.NameIdentifier"/> claim, as SignalR's default provider.</summary>
internal sealed class DefaultUserIdProvider : IWibeSocketUserIdProvider
{
    public string? GetUserId(WibeSocket socket) => socket.User.FindFirst(ClaimTypes.NameIdentifier)?.Value;
}
