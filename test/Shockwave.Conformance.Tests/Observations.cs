using System.Text;

namespace Shockwave.Conformance.Tests;

/// <summary>What the server sent that a case judges: data messages and pongs, in arrival order.</summary>
internal enum EventKind
{
    Text,
    Binary,
    Pong,
}

/// <summary>One message or pong received from the server. Server pings are answered and noted, never judged.</summary>
internal sealed record ServerEvent(EventKind Kind, byte[] Payload, bool Compressed = false, int Frames = 1)
{
    public static ServerEvent Text(string text) => new(EventKind.Text, Encoding.UTF8.GetBytes(text));

    public static ServerEvent Text(byte[] utf8) => new(EventKind.Text, utf8);

    public static ServerEvent Binary(byte[] payload) => new(EventKind.Binary, payload);

    public static ServerEvent Pong(byte[] payload) => new(EventKind.Pong, payload);

    public bool SameAs(ServerEvent other) => Kind == other.Kind && Payload.AsSpan().SequenceEqual(other.Payload);

    public override string ToString() =>
        $"{Kind}({Payload.Length} B{(Compressed ? ", deflated" : "")}{(Frames > 1 ? $", {Frames} frames" : "")}: {Preview(Payload)})";

    internal static string Preview(byte[] payload) =>
        payload.Length <= 16 ? Convert.ToHexString(payload) : Convert.ToHexString(payload, 0, 16) + "…";
}

/// <summary>The HTTP response to the opening handshake.</summary>
internal sealed record HandshakeResponse(string StatusLine, int StatusCode, IReadOnlyList<KeyValuePair<string, string>> Headers)
{
    public IEnumerable<string> Values(string name) =>
        Headers.Where(h => string.Equals(h.Key, name, StringComparison.OrdinalIgnoreCase)).Select(h => h.Value);

    public string? Single(string name)
    {
        var values = Values(name).ToList();
        return values.Count == 1 ? values[0] : null;
    }

    public int Count(string name) => Values(name).Count();
}

/// <summary>Everything a connection saw: the handshake, events, the server's close frame, the TCP close, server violations.</summary>
internal sealed class Observations
{
    private readonly object _gate = new();
    private readonly List<ServerEvent> _events = [];
    private readonly List<string> _violations = [];
    private readonly List<string> _notes = [];

    public HandshakeResponse? Handshake { get; set; }

    /// <summary>The close frame's payload as received (null: none arrived).</summary>
    public byte[]? ClosePayload { get; private set; }

    /// <summary>The close code in the server's close frame; null when the frame had no body (1005 semantics).</summary>
    public ushort? CloseCode => ClosePayload is { Length: >= 2 } p ? (ushort)((p[0] << 8) | p[1]) : null;

    public bool CloseReceived => ClosePayload is not null;

    public bool TcpClosed { get; private set; }

    /// <summary>The TCP connection ended with a reset rather than an orderly FIN.</summary>
    public bool TcpReset { get; private set; }

    public bool ClientSentClose { get; set; }

    /// <summary>True if the server's close frame answered a close the client sent first.</summary>
    public bool CloseWasReply { get; private set; }

    public int ServerPings { get; set; }

    /// <summary>Set by fail-fast cases when the server's close came only after the rest of the message was sent.</summary>
    public string? FailFastMissed { get; set; }

    /// <summary>How many events round-trip helpers already consumed and judged.</summary>
    public int Consumed { get; set; }

    public int EventCount
    {
        get { lock (_gate) { return _events.Count; } }
    }

    public IReadOnlyList<ServerEvent> Events
    {
        get { lock (_gate) { return [.. _events]; } }
    }

    public IReadOnlyList<ServerEvent> UnconsumedEvents
    {
        get { lock (_gate) { return [.. _events.Skip(Consumed)]; } }
    }

    public IReadOnlyList<string> Violations
    {
        get { lock (_gate) { return [.. _violations]; } }
    }

    public IReadOnlyList<string> Notes
    {
        get { lock (_gate) { return [.. _notes]; } }
    }

    public void AddEvent(ServerEvent e)
    {
        lock (_gate) { _events.Add(e); }
    }

    public ServerEvent? EventAt(int index)
    {
        lock (_gate) { return index < _events.Count ? _events[index] : null; }
    }

    public void Violation(string message)
    {
        lock (_gate) { _violations.Add(message); }
    }

    public void Note(string message)
    {
        lock (_gate) { _notes.Add(message); }
    }

    public void Closed(byte[] payload)
    {
        CloseWasReply = ClientSentClose;
        ClosePayload = payload;
    }

    public void TcpEnded(bool reset)
    {
        TcpReset = reset;
        TcpClosed = true;
    }

    public string CloseSummary()
    {
        string frame = ClosePayload is null
            ? "no close frame"
            : CloseCode is { } code ? $"close frame {code}" : "close frame without code";
        string tcp = TcpClosed ? (TcpReset ? "TCP reset" : "TCP closed") : "TCP still open";
        return $"{frame}, {tcp}";
    }
}
