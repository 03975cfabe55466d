namespace Shockwave.Middleware.Tests.Support;

/// <summary>Connection handlers shared by the tests.</summary>
internal static class Handlers
{
    /// <summary>Echoes every message, as samples/Echo does.</summary>
    public static async Task EchoAsync(WibeSocket socket, CancellationToken cancellationToken)
    {
        await foreach (var message in socket.ReadMessagesAsync(cancellationToken))
        {
            await socket.SendAsync(message, cancellationToken);
        }
    }
}
