using BenchmarkDotNet.Attributes;
using Shockwave.Protocol.Handshake;

namespace Shockwave.Benchmarks;

/// <summary>
/// The opening handshake's per-connection work (RFC 6455 section 4.2.2): the accept key, computed into a stack
/// buffer, against the string-returning convenience that a naive implementation would use.
/// </summary>
[MemoryDiagnoser]
public class HandshakeBenchmarks
{
    private const string Key = "dGhlIHNhbXBsZSBub25jZQ==";
    private readonly char[] _destination = new char[WebSocketAccept.AcceptLength];

    /// <summary>The allocation-free path the server uses.</summary>
    [Benchmark(Baseline = true)]
    public int ComputeAccept_IntoSpan()
    {
        WebSocketAccept.TryComputeAccept(Key, _destination, out int written);
        return written;
    }

    /// <summary>The convenience overload that returns a string (one 28-character allocation).</summary>
    [Benchmark]
    public string ComputeAccept_String() => WebSocketAccept.ComputeAccept(Key);

    /// <summary>Validating a client's key: base64 of exactly 16 bytes.</summary>
    [Benchmark]
    public bool ValidateKey() => WebSocketAccept.IsValidKey(Key);

    /// <summary>Finding the upgrade token in a typical browser Connection header.</summary>
    [Benchmark]
    public bool ConnectionHeaderContainsUpgrade() => HeaderTokens.ContainsToken("keep-alive, Upgrade", "upgrade");
}
