using System.Diagnostics.CodeAnalysis;
using System.Text;
using Microsoft.AspNetCore.Http;

namespace Shockwave.Testing;

/// <summary>
/// The app's answer to an opening handshake, from <see cref="WibeSocketTestClient.TryConnectAsync(string, CancellationToken)"/>:
/// the HTTP response, and the connection when the handshake succeeded.
/// </summary>
public sealed class WibeSocketHandshakeResult
{
    private readonly byte[] _body;

    internal WibeSocketHandshakeResult(int statusCode, string? reasonPhrase, IHeaderDictionary headers, byte[] body, WibeSocketTestConnection? connection, string? failureReason)
    {
        StatusCode = statusCode;
        ReasonPhrase = reasonPhrase;
        Headers = headers;
        _body = body;
        Connection = connection;
        FailureReason = failureReason;
    }

    /// <summary>The response status: 101 for an upgrade, otherwise the app's refusal (400, 401, 403, 426 and so on).</summary>
    public int StatusCode { get; }

    /// <summary>The reason phrase the app set, if any.</summary>
    public string? ReasonPhrase { get; }

    /// <summary>A copy of the response headers as the app (and every middleware around it) left them when the response started.</summary>
    public IHeaderDictionary Headers { get; }

    /// <summary>The response body of a refused handshake, read to its end; empty after a 101.</summary>
    public ReadOnlyMemory<byte> Body => _body;

    /// <summary>The response body decoded as UTF-8.</summary>
    public string BodyText => Encoding.UTF8.GetString(_body);

    /// <summary>The open connection when the handshake succeeded; null otherwise. The caller owns it and must dispose it.</summary>
    public WibeSocketTestConnection? Connection { get; }

    /// <summary>True when the server upgraded and its 101 passed the client's checks (RFC 6455 section 4.1).</summary>
    [MemberNotNullWhen(true, nameof(Connection))]
    [MemberNotNullWhen(false, nameof(FailureReason))]
    public bool IsSuccess => Connection is not null;

    /// <summary>
    /// Why there is no connection: a status other than 101, or the 101 check that failed (for example a wrong
    /// <c>Sec-WebSocket-Accept</c>). Null on success.
    /// </summary>
    public string? FailureReason { get; }

    /// <summary>Describes the outcome for assertion messages.</summary>
    public override string ToString() => IsSuccess ? "101 Switching Protocols" : $"{StatusCode}: {FailureReason}";
}
