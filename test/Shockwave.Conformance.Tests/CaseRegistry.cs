namespace Shockwave.Conformance.Tests;

/// <summary>Every case, in Autobahn's order, the handshake category last.</summary>
internal static class CaseRegistry
{
    public static IReadOnlyList<ConformanceCase> All { get; } =
    [
        .. Framing.Cases(),
        .. PingPong.Cases(),
        .. ReservedBitsAndOpcodes.Cases(),
        .. Fragmentation.Cases(),
        .. Utf8Cases.Cases(),
        .. CloseCases.Cases(),
        .. LimitsCases.Cases(),
        .. CompressionCases.Cases(),
        .. HandshakeCases.Cases(),
    ];
}
