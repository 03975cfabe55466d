namespace Shockwave.Conformance.Tests;

/// <summary>Finishes a case's connection the way the case needs (closing it, or waiting for the server to fail it) and judges it.</summary>
internal abstract class Expectation
{
    public abstract Task<CaseOutcome> CompleteAsync(CaseConnection connection);

    /// <summary>The events received (after any the body consumed) compared with what was expected.</summary>
    protected static CaseOutcome JudgeEvents(CaseConnection connection, ServerEvent[] expected, ServerEvent[]? nonStrict)
    {
        var actual = connection.Observations.UnconsumedEvents;
        if (Matches(actual, expected))
        {
            return CaseOutcome.Ok();
        }

        if (nonStrict is not null && Matches(actual, nonStrict))
        {
            return new(Verdict.NonStrict, $"received [{string.Join(", ", actual)}], the non-strict alternative");
        }

        return CaseOutcome.Failed($"expected [{string.Join(", ", expected.AsEnumerable())}], received [{string.Join(", ", actual)}]");
    }

    protected static CaseOutcome JudgeViolations(CaseConnection connection) =>
        connection.Observations.Violations is { Count: > 0 } violations
            ? CaseOutcome.Failed("server violation: " + string.Join("; ", violations))
            : CaseOutcome.Ok();

    private static bool Matches(IReadOnlyList<ServerEvent> actual, ServerEvent[] expected) =>
        actual.Count == expected.Length && actual.Zip(expected).All(pair => pair.First.SameAs(pair.Second));

    /// <summary>
    /// The server echoes exactly <paramref name="events"/> in order; the client then starts the closing handshake with 1000,
    /// and the server must answer with a close frame (R6455-5.5.1) and close TCP (R6455-7.1.1).
    /// </summary>
    public static Expectation Echo(params ServerEvent[] events) => new EchoThenClose(events, null);

    /// <summary>As <see cref="Echo"/>, with an alternative event list that is NON-STRICT.</summary>
    public static Expectation EchoOr(ServerEvent[] events, ServerEvent[] nonStrict) => new EchoThenClose(events, nonStrict);

    /// <summary>
    /// The server fails the connection (R6455-7.1.7): a close frame with one of <paramref name="codes"/>, then the TCP close.
    /// Dropping TCP without a close frame is NON-STRICT (the close frame is a SHOULD). Events before the failure must match.
    /// </summary>
    public static Expectation Fail(ushort[] codes, ServerEvent[]? before = null, ServerEvent[]? nonStrictBefore = null) =>
        new FailConnection(codes, before ?? [], nonStrictBefore);

    public static Expectation Fail(ushort code, params ServerEvent[] before) => new FailConnection([code], before, null);

    /// <summary>The client already sent a close with <paramref name="code"/>; the server echoes that code (the sample's contract) and closes TCP.</summary>
    public static Expectation CloseEcho(ushort? code, ServerEvent[]? events = null, ServerEvent[]? nonStrict = null, ushort? alsoOk = null) =>
        new CloseEchoed(code, events ?? [], nonStrict, alsoOk);

    /// <summary>The RFC leaves the outcome open: record what happened (protocol violations still fail).</summary>
    public static Expectation Informational(params ServerEvent[] events) => new Recorded(events);

    /// <summary>An answer to a hand-written opening handshake: one of <paramref name="statuses"/>, plus any further check.</summary>
    public static Expectation Handshake(int[] statuses, Func<HandshakeResponse, string?>? check = null) => new HandshakeAnswer(statuses, check);

    private sealed class EchoThenClose(ServerEvent[] events, ServerEvent[]? nonStrict) : Expectation
    {
        public override async Task<CaseOutcome> CompleteAsync(CaseConnection connection)
        {
            var o = connection.Observations;
            await connection.WaitForEventsAsync(o.Consumed + events.Length);
            bool serverClosedFirst = o.CloseReceived || o.TcpClosed;
            if (!serverClosedFirst)
            {
                await connection.SendCloseAsync(1000);
            }

            await connection.WaitForCloseAsync();
            await connection.WaitForTcpCloseAsync();
            var outcome = JudgeViolations(connection).And(JudgeEvents(connection, events, nonStrict));
            if (serverClosedFirst)
            {
                return outcome.And(CaseOutcome.Failed($"server ended the connection on its own: {o.CloseSummary()}"));
            }

            if (!o.CloseReceived)
            {
                return outcome.And(CaseOutcome.Failed($"no close frame answered the client's close (R6455-5.5.1): {o.CloseSummary()}"));
            }

            if (o.CloseCode != 1000)
            {
                return outcome.And(CaseOutcome.Failed($"close answered with {o.CloseCode?.ToString() ?? "no code"}, not the echoed 1000"));
            }

            return o.TcpClosed
                ? outcome
                : outcome.And(CaseOutcome.Failed("server did not close TCP within 2 s of the closing handshake (R6455-7.1.1)"));
        }
    }

    private sealed class FailConnection(ushort[] codes, ServerEvent[] before, ServerEvent[]? nonStrictBefore) : Expectation
    {
        public override async Task<CaseOutcome> CompleteAsync(CaseConnection connection)
        {
            var o = connection.Observations;
            await connection.WaitForCloseAsync();
            if (o.CloseReceived)
            {
                await connection.WaitForTcpCloseAsync();
            }

            var outcome = JudgeViolations(connection).And(JudgeEvents(connection, before, nonStrictBefore));
            string expected = string.Join(" or ", codes);
            if (!o.CloseReceived && !o.TcpClosed)
            {
                return outcome.And(CaseOutcome.Failed($"server did not fail the connection within 2 s (expected close {expected})"));
            }

            if (!o.CloseReceived)
            {
                return outcome.And(new(Verdict.NonStrict, $"server dropped TCP without a close frame ({(o.TcpReset ? "reset" : "FIN")}); expected close {expected} first (R6455-7.1.7 SHOULD)"));
            }

            if (o.CloseCode is not { } code || !codes.Contains(code))
            {
                return outcome.And(CaseOutcome.Failed($"failed with close {o.CloseCode?.ToString() ?? "without code"}, expected {expected} (R6455-7.4.1)"));
            }

            if (!o.TcpClosed)
            {
                return outcome.And(CaseOutcome.Failed("server did not close TCP within 2 s of failing the connection (R6455-7.1.7 MUST)"));
            }

            if (o.FailFastMissed is { } late)
            {
                outcome = outcome.And(new(Verdict.NonStrict, $"failed with close {code}, but late: {late}"));
            }

            return outcome.Verdict == Verdict.Ok ? CaseOutcome.Ok($"failed with close {code}, then TCP close") : outcome;
        }
    }

    private sealed class CloseEchoed(ushort? code, ServerEvent[] events, ServerEvent[]? nonStrict, ushort? alsoOk) : Expectation
    {
        public override async Task<CaseOutcome> CompleteAsync(CaseConnection connection)
        {
            var o = connection.Observations;
            await connection.WaitForCloseAsync();
            await connection.WaitForTcpCloseAsync();
            var outcome = JudgeViolations(connection).And(JudgeEvents(connection, events, nonStrict));
            if (!o.CloseReceived)
            {
                return outcome.And(CaseOutcome.Failed($"no close frame answered the client's close: {o.CloseSummary()}"));
            }

            if (!o.CloseWasReply)
            {
                return outcome.And(CaseOutcome.Failed($"the server closed on its own instead of answering: {o.CloseSummary()}"));
            }

            if (o.CloseCode != code && (alsoOk is null || o.CloseCode != alsoOk))
            {
                var verdict = code is not null && o.CloseCode == 1000 ? Verdict.NonStrict : Verdict.Failed;
                return outcome.And(new(verdict, $"close answered with {o.CloseCode?.ToString() ?? "no code"}, expected the echoed {code?.ToString() ?? "empty close"}"));
            }

            return o.TcpClosed ? outcome : outcome.And(CaseOutcome.Failed("server did not close TCP within 2 s (R6455-7.1.1)"));
        }
    }

    private sealed class Recorded(ServerEvent[] events) : Expectation
    {
        public override async Task<CaseOutcome> CompleteAsync(CaseConnection connection)
        {
            var o = connection.Observations;
            await connection.WaitForEventsAsync(o.Consumed + events.Length);
            if (!o.CloseReceived && !o.TcpClosed && !o.ClientSentClose)
            {
                await connection.SendCloseAsync(1000);
            }

            await connection.WaitForCloseAsync();
            await connection.WaitForTcpCloseAsync();
            var violations = JudgeViolations(connection);
            if (violations.Verdict != Verdict.Ok)
            {
                return violations;
            }

            var echoes = JudgeEvents(connection, events, null).Verdict == Verdict.Ok ? "all expected echoes" : "not all echoes";
            return new(Verdict.Informational, $"{echoes}; {o.CloseSummary()}{(o.CloseCode is { } c ? $" (code {c})" : "")}");
        }
    }

    private sealed class HandshakeAnswer(int[] statuses, Func<HandshakeResponse, string?>? check) : Expectation
    {
        public override async Task<CaseOutcome> CompleteAsync(CaseConnection connection)
        {
            var response = await connection.ReadResponseAsync();
            if (response is null)
            {
                return CaseOutcome.Failed($"no response head within 5 s ({connection.Observations.CloseSummary()})");
            }

            if (!statuses.Contains(response.StatusCode))
            {
                return CaseOutcome.Failed($"answered '{response.StatusLine}', expected {string.Join(" or ", statuses)}");
            }

            if (check?.Invoke(response) is { } problem)
            {
                return CaseOutcome.Failed(problem);
            }

            if (response.StatusCode != 101)
            {
                return CaseOutcome.Ok($"answered '{response.StatusLine}'");
            }

            // Upgraded: the connection must work. One echo, then the closing handshake.
            await connection.RoundTripAsync(Op.Text, "conformance"u8.ToArray());
            return await Echo().CompleteAsync(connection);
        }
    }
}
