using Shockwave.Tests.Shared;

namespace Shockwave.Runtime.Tests;

public sealed class KeepAliveTests
{
    private readonly ManualTimeProvider _time = new();

    [Fact]
    public void SilentPeer_GetsOnePing_ThenTimesOut()
    {
        var keepAlive = new KeepAlive(_time, TimeSpan.FromSeconds(20), TimeSpan.FromSeconds(10), _time.GetTimestamp());
        Assert.Equal(KeepAliveAction.None, Check(ref keepAlive, TimeSpan.FromSeconds(19)));
        Assert.Equal(KeepAliveAction.SendPing, Check(ref keepAlive, TimeSpan.FromSeconds(1)));
        Assert.Equal(KeepAliveAction.None, Check(ref keepAlive, TimeSpan.FromSeconds(9)));
        Assert.Equal(KeepAliveAction.TimedOut, Check(ref keepAlive, TimeSpan.FromSeconds(1)));
    }

    [Fact]
    public void AnythingReceivedAfterThePing_CountsAsLife()
    {
        var keepAlive = new KeepAlive(_time, TimeSpan.FromSeconds(20), TimeSpan.FromSeconds(10), _time.GetTimestamp());
        Assert.Equal(KeepAliveAction.SendPing, Check(ref keepAlive, TimeSpan.FromSeconds(20)));
        _time.Advance(TimeSpan.FromSeconds(1));
        keepAlive.OnReceived(_time.GetTimestamp());
        Assert.Equal(KeepAliveAction.None, Check(ref keepAlive, TimeSpan.FromSeconds(15)));
    }

    [Fact]
    public void BusyPeer_IsNeverPinged()
    {
        var keepAlive = new KeepAlive(_time, TimeSpan.FromSeconds(20), TimeSpan.FromSeconds(10), _time.GetTimestamp());
        for (int i = 0; i < 10; i++)
        {
            _time.Advance(TimeSpan.FromSeconds(15));
            keepAlive.OnReceived(_time.GetTimestamp());
            Assert.Equal(KeepAliveAction.None, keepAlive.Check(_time.GetTimestamp()));
        }
    }

    [Fact]
    public void ZeroInterval_DisablesKeepAlive()
    {
        var keepAlive = new KeepAlive(_time, TimeSpan.Zero, TimeSpan.FromSeconds(10), _time.GetTimestamp());
        Assert.Equal(KeepAliveAction.None, Check(ref keepAlive, TimeSpan.FromHours(1)));
    }

    private KeepAliveAction Check(ref KeepAlive keepAlive, TimeSpan after)
    {
        _time.Advance(after);
        return keepAlive.Check(_time.GetTimestamp());
    }
}
