using System.IO.Pipelines;

namespace Shockwave.Runtime;

/// <summary>
/// A reader and a writer as one transport: what every host that builds its own pipes hands the runtime (the client's
/// socket pipes, the test client's tapped pipe, in-memory pairs in tests and benchmarks).
/// </summary>
internal sealed class DuplexPipe(PipeReader input, PipeWriter output) : IDuplexPipe
{
    public PipeReader Input { get; } = input;

    public PipeWriter Output { get; } = output;
}
