using Shockwave.Tests.Shared;

namespace Shockwave.Conformance.Tests;

public sealed class TransportSelectionTests
{
    [Fact]
    public void The_suite_runs_against_the_transport_the_run_asked_for()
    {
        // samples/Echo ships on the Shockwave transport; SHOCKWAVE_TEST_TRANSPORT=sockets takes it off again, so that the
        // suite proves both transports (scripts/test.sh runs it both ways).
        var transports = ConformanceRunner.Transports;
        var expected = TestTransport.Requested == "sockets" ? "SocketTransportFactory" : "ShockwaveTransportFactory";
        Assert.Equal(expected, transports[^1]);
    }
}
