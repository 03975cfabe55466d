using Shockwave.Diagnostics;
using Shockwave.Protocol;
using Shockwave.Tests.Shared;

namespace Shockwave.Runtime.Tests;

public sealed class CloseHandshakeTests
{
    private readonly ManualTimeProvider _time = new();

    [Fact]
    public void OurCloseThenTheirs_EndsClosed_AndKeepsOurStatus()
    {
        var close = new CloseHandshake(_time, new Lock());
        Assert.True(close.TryBeginClose(WebSocketCloseStatus.NormalClosure, "bye", CloseReasons.ServerClosed));
        Assert.False(close.TryBeginClose(WebSocketCloseStatus.EndpointUnavailable, null, CloseReasons.ServerShutdown));
        Assert.Equal(WibeSocketState.CloseSent, close.State);

        Assert.False(close.OnPeerClose(WebSocketCloseStatus.NormalClosure, null, CloseReasons.ClientClosed));
        close.MarkClosed();

        Assert.Equal(WibeSocketState.Closed, close.State);
        Assert.Equal(WebSocketCloseStatus.NormalClosure, close.Status);
        Assert.Equal("bye", close.Description);
        Assert.Equal(CloseReasons.ServerClosed, close.Reason);
        Assert.True(close.PeerCloseReceived.IsCompleted);
    }

    [Fact]
    public void TheirCloseFirst_MustBeAnswered_AndRecordsTheirStatus()
    {
        var close = new CloseHandshake(_time, new Lock());
        Assert.True(close.OnPeerClose((WebSocketCloseStatus)4000, "later", CloseReasons.ClientClosed));
        Assert.Equal(WibeSocketState.CloseReceived, close.State);
        Assert.False(close.TryBeginClose(WebSocketCloseStatus.NormalClosure, null, CloseReasons.ServerClosed));
        Assert.Equal((WebSocketCloseStatus)4000, close.Status);
        Assert.Equal(CloseReasons.ClientClosed, close.Reason);
    }

    [Fact]
    public void AbortOnlyOnce_AndNotAfterClosed()
    {
        var close = new CloseHandshake(_time, new Lock());
        Assert.True(close.TryAbort(CloseReasons.KeepAliveTimeout));
        Assert.False(close.TryAbort(CloseReasons.Aborted));
        Assert.Equal(WibeSocketState.Aborted, close.State);
        Assert.Equal(CloseReasons.KeepAliveTimeout, close.Reason);
        Assert.Equal(WebSocketCloseStatus.AbnormalClosure, close.Status);
        Assert.True(close.IsAborted);
    }

    [Fact]
    public void HandshakeIsOverdue_OnlyAfterTheTimeout_InEitherDirection()
    {
        var timeout = TimeSpan.FromSeconds(5);
        var ours = new CloseHandshake(_time, new Lock());
        var theirs = new CloseHandshake(_time, new Lock());
        ours.TryBeginClose(WebSocketCloseStatus.NormalClosure, null, CloseReasons.ServerClosed);
        theirs.OnPeerClose(WebSocketCloseStatus.NormalClosure, null, CloseReasons.ClientClosed);

        _time.Advance(TimeSpan.FromSeconds(4.9));
        Assert.False(ours.IsOverdue(_time.GetTimestamp(), timeout));
        Assert.False(theirs.IsOverdue(_time.GetTimestamp(), timeout));
        _time.Advance(TimeSpan.FromSeconds(0.1));
        Assert.True(ours.IsOverdue(_time.GetTimestamp(), timeout));
        Assert.True(theirs.IsOverdue(_time.GetTimestamp(), timeout));
    }

    [Fact]
    public void Finish_WithoutThePeersClose_EndsAborted()
    {
        var close = new CloseHandshake(_time, new Lock());
        close.TryBeginClose(WebSocketCloseStatus.NormalClosure, null, CloseReasons.ServerClosed);
        close.Finish();
        Assert.Equal(WibeSocketState.Aborted, close.State);
    }
}
