using Shockwave.Protocol.Handshake;

namespace Shockwave.Protocol.Tests.Handshake;

public class WebSocketVersionTests
{
    [Theory]
    [InlineData("13")]
    [InlineData(" 13")]
    [InlineData("13\t")]
    public void Check_Thirteen_Supported(string value) =>
        Assert.Equal(WebSocketVersionStatus.Supported, WebSocketVersion.Check(value));

    // R6455-4.2.1-a6: no version is a malformed request (400).
    [Theory]
    [InlineData("")]
    [InlineData("   ")]
    [InlineData(null)]
    public void Check_NoValue_Missing(string? value) =>
        Assert.Equal(WebSocketVersionStatus.Missing, WebSocketVersion.Check(value));

    // R6455-4.2.2-d, R6455-4.4-a: any other value is a version the server does not speak (426 + Sec-WebSocket-Version: 13).
    [Theory]
    [InlineData("8")]
    [InlineData("25")]
    [InlineData("0")]
    [InlineData("013")]
    [InlineData("13, 8")]
    [InlineData("13.0")]
    [InlineData("1 3")]
    [InlineData("abc")]
    public void Check_OtherValue_Unsupported(string value) =>
        Assert.Equal(WebSocketVersionStatus.Unsupported, WebSocketVersion.Check(value));
}
