using Shockwave.Protocol.Handshake;

namespace Shockwave.Protocol.Tests.Handshake;

public class SubProtocolsTests
{
    // The server's preference order wins over the client's; R6455-4.2.2-f: the result is one the client offered.
    [Theory]
    [InlineData("b, a", new[] { "a", "b" }, "a")]
    [InlineData("a, b", new[] { "b", "a" }, "b")]
    [InlineData("x, b, y", new[] { "a", "b", "c" }, "b")]
    [InlineData(" , chat ,,", new[] { "chat" }, "chat")]
    [InlineData("\tchat\t", new[] { "chat" }, "chat")]
    [InlineData("chat, chat", new[] { "chat" }, "chat")]
    // R6455-4.2.2-g: no overlap, no subprotocol.
    [InlineData("a", new[] { "b" }, null)]
    [InlineData("", new[] { "chat" }, null)]
    [InlineData(" , ", new[] { "chat" }, null)]
    [InlineData("chat", new string[0], null)]
    // Names are case-sensitive: a browser refuses a response that does not echo one of its offers exactly.
    [InlineData("Chat", new[] { "chat" }, null)]
    // Whole elements only.
    [InlineData("chat2", new[] { "chat" }, null)]
    [InlineData("chat.v2", new[] { "chat", "chat.v2" }, "chat.v2")]
    // Invalid offered elements (R6455-4.1-aa) are ignored; the rest of the list still counts.
    [InlineData("a b, chat", new[] { "a b", "chat" }, "chat")]
    [InlineData("\"chat\"", new[] { "chat" }, null)]
    [InlineData("chat;v=2, mqtt", new[] { "chat", "mqtt" }, "mqtt")]
    public void Select_OneHeaderValue_MatchesExpected(string offered, string[] supported, string? expected) =>
        Assert.Equal(expected, SubProtocols.Select(offered, supported));

    // Several Sec-WebSocket-Protocol header lines are one list (RFC 9110 section 5.3).
    [Fact]
    public void Select_SeveralHeaderLines_ServerPreferenceAcrossLines()
    {
        string?[] lines = ["x", null, "chat, y", ""];
        Assert.Equal("y", SubProtocols.Select(lines, ["y", "chat"]));
        Assert.Equal("chat", SubProtocols.Select(lines, ["chat", "y"]));
        Assert.Null(SubProtocols.Select(lines, ["z"]));
        Assert.Null(SubProtocols.Select(Array.Empty<string?>(), ["z"]));
    }

    // The returned string is the server's instance, so a long-lived connection does not pin request strings.
    [Fact]
    public void Select_Match_ReturnsServerInstance()
    {
        string serverName = new("chat".AsSpan());
        string offered = new("superchat, chat".AsSpan());
        Assert.Same(serverName, SubProtocols.Select(offered, ["other", serverName]));
        Assert.Same(serverName, SubProtocols.Select([offered], ["other", serverName]));
    }

    [Fact]
    public void Select_NullArguments_Throw()
    {
        Assert.Throws<ArgumentNullException>(() => SubProtocols.Select("a", null!));
        Assert.Throws<ArgumentNullException>(() => SubProtocols.Select((IEnumerable<string?>)null!, ["a"]));
    }

    [Fact]
    public void Select_Warm_AllocatesNothing()
    {
        string[] supported = ["mqtt", "chat"];
        const string offered = "superchat, chat, mqtt";
        Assert.Equal("mqtt", SubProtocols.Select(offered, supported));
        long before = GC.GetAllocatedBytesForCurrentThread();
        string? selected = SubProtocols.Select(offered, supported);
        Assert.Equal(before, GC.GetAllocatedBytesForCurrentThread());
        Assert.Equal("mqtt", selected);
    }

    // R6455-4.1-aa: non-empty, U+0021 to U+007E, no separators.
    [Theory]
    [InlineData("chat", true)]
    [InlineData("mqtt", true)]
    [InlineData("v1.chat.example.com", true)]
    [InlineData("a!#$%&'*+-.^_`|~", true)]
    [InlineData("", false)]
    [InlineData(" ", false)]
    [InlineData("a b", false)]
    [InlineData("a\tb", false)]
    [InlineData("a,b", false)]
    [InlineData("a;b", false)]
    [InlineData("a=b", false)]
    [InlineData("a/b", false)]
    [InlineData("a\"b", false)]
    [InlineData("(a)", false)]
    [InlineData("<a>", false)]
    [InlineData("[a]", false)]
    [InlineData("{a}", false)]
    [InlineData("a?", false)]
    [InlineData("a@b", false)]
    [InlineData("a:b", false)]
    [InlineData("a\\b", false)]
    [InlineData("caf\u00e9", false)]
    [InlineData("a\u007f", false)]
    [InlineData("a\u0000", false)]
    public void IsValidName_Name_MatchesExpected(string name, bool expected) =>
        Assert.Equal(expected, SubProtocols.IsValidName(name));
}
