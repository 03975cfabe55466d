using System.IO.Pipelines;
using System.Runtime.ExceptionServices;
using Microsoft.AspNetCore.Http;
using Shockwave.Protocol.Compression;

namespace Shockwave.Testing;

/// <summary>
/// The client's end of an in-memory connection after a valid 101, as the handshake leaves it: the two pipe ends, the
/// 101's headers and what they negotiated, and TestHost's request, which ends when the app has finished. Both kinds of
/// test connection are built on one of these.
/// </summary>
internal sealed class UpgradedConnection
{
    private readonly DuplexPipeStream _serverStream;
    private readonly Stream _responseBody;
    private readonly CancellationTokenSource _requestAborted;

    public UpgradedConnection(
        PipeReader input,
        PipeWriter output,
        DuplexPipeStream serverStream,
        Stream responseBody,
        CancellationTokenSource requestAborted,
        IHeaderDictionary responseHeaders,
        ConnectionSettings settings,
        PerMessageDeflateParameters? deflate)
    {
        Input = input;
        Output = output;
        _serverStream = serverStream;
        _responseBody = responseBody;
        _requestAborted = requestAborted;
        ResponseHeaders = responseHeaders;
        Settings = settings;
        Deflate = deflate;
        ServerFinished = ObserveServerAsync();
    }

    /// <summary>What the app writes.</summary>
    public PipeReader Input { get; }

    /// <summary>What the app reads.</summary>
    public PipeWriter Output { get; }

    /// <summary>A copy of the 101's headers.</summary>
    public IHeaderDictionary ResponseHeaders { get; }

    public ConnectionSettings Settings { get; }

    /// <summary>The permessage-deflate parameters the 101 accepted, or null when it accepted none.</summary>
    public PerMessageDeflateParameters? Deflate { get; }

    /// <summary>Completes when the app has finished the request, with the exception it threw after the 101, if any.</summary>
    public Task<ExceptionDispatchInfo?> ServerFinished { get; }

    /// <summary>The end of the server's output, naming the app's exception when it failed (usually why the connection ended).</summary>
    public EndOfStreamException EndOfStream(string where)
    {
        var appFailure = ServerFinished.IsCompletedSuccessfully ? ServerFinished.Result?.SourceException : null;
        return new EndOfStreamException($"The server closed the connection {where}.", appFailure);
    }

    /// <summary>The client went away: TestHost turns this into the app's <c>HttpContext.RequestAborted</c>.</summary>
    public Task AbortRequestAsync() => _requestAborted.CancelAsync();

    /// <summary>Releases TestHost's response once the connection is done with; call after <see cref="AbortRequestAsync"/>.</summary>
    public async ValueTask ReleaseAsync()
    {
        await _responseBody.DisposeAsync().ConfigureAwait(false);
        _requestAborted.Dispose();
    }

    // Reads TestHost's response body to its end, which comes when the app has finished the request, and keeps the
    // exception TestHost ends it with if the app threw.
    private async Task<ExceptionDispatchInfo?> ObserveServerAsync()
    {
        ExceptionDispatchInfo? failure = null;
        try
        {
            byte[] buffer = new byte[256];

            // Nothing can be written to the body after the 101; the loop only waits for its end. No token: cancelling
            // a read of TestHost's response stream aborts the request.
            while (await _responseBody.ReadAsync(buffer, CancellationToken.None).ConfigureAwait(false) > 0)
            {
            }
        }
        catch (Exception ex) when (!_requestAborted.IsCancellationRequested)
        {
            // TestHost wraps the app's exception in an IOException on some paths.
            failure = ExceptionDispatchInfo.Capture(ex is IOException { InnerException: { } inner } ? inner : ex);
        }
        catch (Exception) when (_requestAborted.IsCancellationRequested)
        {
            // The client dropped the connection: the end of the request is its doing, not the app's failure.
            return null;
        }

        // Kestrel closes the connection when the app returns from an upgraded request; the client reads end of stream.
        _serverStream.Complete();
        return failure;
    }
}
