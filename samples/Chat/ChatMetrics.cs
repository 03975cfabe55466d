using System.Diagnostics.Metrics;

namespace Shockwave.Samples.Chat;

/// <summary>The sample's own meter ("Shockwave.Samples.Chat"): what the chat protocol refused and relayed.</summary>
public sealed class ChatMetrics
{
    /// <summary>The meter's name, for <c>AddMeter</c>.</summary>
    public const string MeterName = "Shockwave.Samples.Chat";

    private readonly Counter<long> _refused;
    private readonly Counter<long> _abuseCloses;
    private readonly Counter<long> _relayed;

    /// <summary>Creates the instruments from the host's meter factory.</summary>
    public ChatMetrics(IMeterFactory meterFactory)
    {
        var meter = meterFactory.Create(MeterName);
        _refused = meter.CreateCounter<long>("chat.messages.refused", "{message}", "Client messages answered with an error, by error code.");
        _abuseCloses = meter.CreateCounter<long>("chat.connections.abuse_closed", "{connection}", "Connections closed with 1008 for repeated invalid messages.");
        _relayed = meter.CreateCounter<long>("chat.messages.relayed", "{message}", "Room and direct messages relayed, by kind.");
    }

    internal void Refused(string code) => _refused.Add(1, new KeyValuePair<string, object?>("chat.error_code", code));

    internal void ClosedForAbuse() => _abuseCloses.Add(1);

    internal void MessageRelayed(string kind) => _relayed.Add(1, new KeyValuePair<string, object?>("chat.message_kind", kind));
}
