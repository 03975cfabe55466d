using System.Diagnostics.Metrics;
using Shockwave.Diagnostics;

namespace Shockwave.Backplane;

/// <summary>The backplane's instruments, on the library's one meter ("Shockwave").</summary>
internal sealed class BackplaneMetrics
{
    public const string PublishedResult = "published";
    public const string NotDeliveredResult = "not_delivered";
    public const string RefusedResult = "refused";

    private readonly Counter<long> _published;
    private readonly Counter<long> _received;
    private readonly Counter<long> _malformed;
    private readonly Counter<long> _gaps;

    public BackplaneMetrics(IMeterFactory meterFactory)
    {
        ArgumentNullException.ThrowIfNull(meterFactory);
        var meter = meterFactory.Create(WibeSocketMetrics.MeterName);
        _published = meter.CreateCounter<long>("shockwave.backplane.published", "{message}", "Sends published to the backplane, by result (published, not_delivered, refused).");
        _received = meter.CreateCounter<long>("shockwave.backplane.received", "{message}", "Backplane messages from other nodes delivered to this node's connections.");
        _malformed = meter.CreateCounter<long>("shockwave.backplane.malformed", "{message}", "Backplane messages this node could not read.");
        _gaps = meter.CreateCounter<long>("shockwave.backplane.gaps", "{gap}", "Detected losses of backplane messages, by reason (sequence_gap, connection_lost).");
    }

    public void Published(string result) => _published.Add(1, new KeyValuePair<string, object?>("shockwave.backplane.result", result));

    public void Received() => _received.Add(1);

    public void Malformed() => _malformed.Add(1);

    public void Gap(WibeSocketBackplaneGapReason reason) =>
        _gaps.Add(1, new KeyValuePair<string, object?>("shockwave.backplane.gap_reason", reason == WibeSocketBackplaneGapReason.SequenceGap ? "sequence_gap" : "connection_lost"));
}
