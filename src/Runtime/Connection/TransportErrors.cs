namespace Shockwave.Runtime;

/// <summary>The one filter for "the transport went away" (written once for the runtime and its hosts).</summary>
internal static class TransportErrors
{
    /// <summary>
    /// True for what a pipe throws when its connection is reset, aborted, cancelled or already completed. Kestrel's
    /// <c>ConnectionResetException</c> is an <see cref="IOException"/> and its <c>ConnectionAbortedException</c> an
    /// <see cref="OperationCanceledException"/>, so they are covered without a reference to ASP.NET Core.
    /// </summary>
    public static bool IsTransportException(Exception ex) =>
        ex is IOException or OperationCanceledException or InvalidOperationException or ObjectDisposedException;
}

/// <summary>Ends a connection at once; what the connection's parts call when the transport fails under them.</summary>
internal interface IAbortable
{
    void Abort(string closeReason);
}
