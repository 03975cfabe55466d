namespace Shockwave.Testing;

/// <summary>
/// The runtime's socket as the test sees it through <see cref="WibeSocketTestConnection.Socket"/>: every member goes
/// straight to the runtime, and each data message received, by whichever path, takes its record from the
/// <see cref="ServerFrameTap"/>, so the records stay in step with the messages. Handing out the close calls
/// <c>onClose</c>.
/// </summary>
internal sealed class TapSocket : DelegatingWibeSocket
{
    private readonly ServerFrameTap _tap;
    private readonly Action _onClose;

    public TapSocket(WibeSocket inner, ServerFrameTap tap, Action onClose)
        : base(inner)
    {
        _tap = tap;
        _onClose = onClose;
    }

    /// <summary>How the last data message received arrived.</summary>
    public ReceivedMessageFrames LastMessage { get; private set; }

    protected override void OnReceived(in WibeSocketMessage message)
    {
        if (message.IsClose)
        {
            _onClose();
        }
        else
        {
            LastMessage = _tap.TakeMessage();
        }
    }
}
