namespace Shockwave.Conformance.Tests;

/// <summary>Autobahn's verdicts, best first.</summary>
internal enum Verdict
{
    /// <summary>The server did exactly what the RFC requires.</summary>
    Ok,

    /// <summary>Acceptable but not the strictest reading (for example dropping TCP instead of sending a close frame first).</summary>
    NonStrict,

    /// <summary>The RFC leaves the outcome open; what happened is recorded, not judged.</summary>
    Informational,

    /// <summary>The server declined an optional feature the case needs (for example permessage-deflate).</summary>
    Unimplemented,

    /// <summary>The server broke a requirement.</summary>
    Failed,
}

/// <summary>A verdict with the reason for it.</summary>
internal sealed record CaseOutcome(Verdict Verdict, string Detail)
{
    public static CaseOutcome Ok(string detail = "as expected") => new(Verdict.Ok, detail);

    public static CaseOutcome Failed(string detail) => new(Verdict.Failed, detail);

    /// <summary>The worse of two outcomes (FAILED over UNIMPLEMENTED over INFORMATIONAL over NON-STRICT over OK).</summary>
    public CaseOutcome And(CaseOutcome other) => other.Verdict > Verdict ? other : this;
}

/// <summary>
/// One numbered conformance case: what it sends (its body, run against an open connection unless it does its own
/// handshake) and what it expects (an <see cref="Expectation"/> that finishes the connection and judges it).
/// </summary>
internal sealed class ConformanceCase
{
    /// <summary>Autobahn's number where the case corresponds to one (1.1.1 … 13.7.18), H.n for the handshake cases.</summary>
    public required string Id { get; init; }

    /// <summary>A short title for test names and the report.</summary>
    public required string Title { get; init; }

    /// <summary>What the case does and why the expectation holds, citing the RFC section (and checklist ID) that decides it.</summary>
    public required string Description { get; init; }

    public required Func<CaseConnection, Task> Body { get; init; }

    public required Expectation Expect { get; init; }

    /// <summary>The endpoint: <c>/echo</c>, or <c>/echo-deflate</c> for the compression categories.</summary>
    public string Path { get; init; } = "/echo";

    /// <summary>The Sec-WebSocket-Extensions offer, if any.</summary>
    public string? Extensions { get; init; }

    /// <summary>False for cases that write their own opening handshake (category H).</summary>
    public bool Open { get; init; } = true;

    /// <summary>
    /// Set when the case's meaning depends on when bytes arrive (fail-fast checks, pauses between frames): such a case
    /// still runs bytewise, but coalescing its sends into one write would remove what it tests.
    /// </summary>
    public bool TimingSensitive { get; init; }

    /// <summary>
    /// Why the verdict may legitimately differ between write modes (a race the RFC leaves open, such as whether a message
    /// already received is echoed before the server fails or closes the connection); null means it must not differ.
    /// </summary>
    public string? VerdictMayVary { get; init; }

    /// <summary>Why a NON-STRICT outcome is acceptable for this case; null means it is not.</summary>
    public string? AcceptNonStrict { get; init; }

    /// <summary>Why an INFORMATIONAL outcome is acceptable for this case; null means it is not.</summary>
    public string? AcceptInformational { get; init; }

    /// <summary>The most the case may take, handshake to TCP close.</summary>
    public TimeSpan Budget { get; init; } = TimeSpan.FromSeconds(20);

    /// <summary>The category: the first component of the id ("1" … "13", or "H").</summary>
    public string Category => Id.Split('.')[0];

    /// <summary>Categories whose wire bytes are small enough (at most ~64 KiB) to also run bytewise and coalesced.</summary>
    public bool SmallWire => Category is "1" or "2" or "3" or "4" or "5" or "6" or "7" or "10" or "H";

    public bool IsAcceptable(Verdict verdict) => verdict switch
    {
        Verdict.Ok => true,
        Verdict.NonStrict => AcceptNonStrict is not null,
        Verdict.Informational => AcceptInformational is not null,
        _ => false,
    };

    public override string ToString() => $"{Id}: {Title}";
}
