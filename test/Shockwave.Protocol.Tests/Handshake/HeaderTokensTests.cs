using Shockwave.Protocol.Handshake;

namespace Shockwave.Protocol.Tests.Handshake;

public class HeaderTokensTests
{
    // R6455-4.2.1-a4 (Connection has the Upgrade token within a list) and R6455-4.2.1-a3 (Upgrade has websocket),
    // with RFC 9110 section 5.6.1 list syntax: OWS around elements, empty elements ignored.
    [Theory]
    [InlineData("Upgrade", "Upgrade", true)]
    [InlineData("upgrade", "Upgrade", true)]
    [InlineData("UPGRADE", "Upgrade", true)]
    [InlineData("keep-alive, Upgrade", "Upgrade", true)]
    [InlineData("keep-alive,Upgrade", "Upgrade", true)]
    [InlineData("Upgrade, keep-alive", "Upgrade", true)]
    [InlineData(" ,, Upgrade ,", "Upgrade", true)]
    [InlineData("\tUpgrade\t", "Upgrade", true)]
    [InlineData("keep-alive ,\t upgrade \t, close", "Upgrade", true)]
    [InlineData("WebSocket", "websocket", true)]
    [InlineData("h2c, websocket", "websocket", true)]
    [InlineData("close", "Upgrade", false)]
    [InlineData("keep-alive", "Upgrade", false)]
    [InlineData("Upgrades", "Upgrade", false)]
    [InlineData("Up grade", "Upgrade", false)]
    [InlineData("keep-alive Upgrade", "Upgrade", false)]
    [InlineData("keep-alive;Upgrade", "Upgrade", false)]
    [InlineData("websocket/13", "websocket", false)]
    [InlineData("h2c", "websocket", false)]
    [InlineData("", "Upgrade", false)]
    [InlineData(" , ,", "Upgrade", false)]
    // Kelvin sign (U+212A) folds to 'k' under Unicode rules, never under ASCII rules.
    [InlineData("websoc\u212Aet", "websocket", false)]
    public void ContainsToken_List_MatchesExpected(string value, string token, bool expected) =>
        Assert.Equal(expected, HeaderTokens.ContainsToken(value, token));

    [Fact]
    public void ContainsToken_NullValue_ReturnsFalse() =>
        Assert.False(HeaderTokens.ContainsToken((string?)null, "Upgrade"));

    [Theory]
    [InlineData("a, b,,c ,\t, d", new[] { "a", "b", "c", "d" })]
    [InlineData(" a b , c", new[] { "a b", "c" })]
    [InlineData("single", new[] { "single" })]
    [InlineData(",leading", new[] { "leading" })]
    [InlineData("trailing,", new[] { "trailing" })]
    [InlineData("", new string[0])]
    [InlineData(",,,", new string[0])]
    [InlineData(" \t ", new string[0])]
    public void Enumerate_List_YieldsTrimmedNonEmptyElements(string value, string[] expected)
    {
        var elements = new List<string>();
        foreach (var element in HeaderTokens.Enumerate(value))
        {
            elements.Add(element.ToString());
        }

        Assert.Equal(expected, elements);
    }

    [Fact]
    public void Enumerate_AfterEnd_KeepsReturningFalse()
    {
        var enumerator = HeaderTokens.Enumerate("a");
        Assert.True(enumerator.MoveNext());
        Assert.Equal("a", enumerator.Current.ToString());
        Assert.False(enumerator.MoveNext());
        Assert.False(enumerator.MoveNext());
        Assert.True(enumerator.Current.IsEmpty);
    }

    // RFC 9110 section 5.6.2 tchar.
    [Theory]
    [InlineData("websocket", true)]
    [InlineData("permessage-deflate", true)]
    [InlineData("!#$%&'*+-.^_`|~0123456789AZaz", true)]
    [InlineData("", false)]
    [InlineData("a b", false)]
    [InlineData("a,b", false)]
    [InlineData("a\"b", false)]
    [InlineData("(a)", false)]
    [InlineData("a/b", false)]
    [InlineData("a:b", false)]
    [InlineData("a;b", false)]
    [InlineData("a=b", false)]
    [InlineData("a\tb", false)]
    [InlineData("{a}", false)]
    [InlineData("caf\u00e9", false)]
    [InlineData("a\u007f", false)]
    public void IsToken_Value_MatchesExpected(string value, bool expected) =>
        Assert.Equal(expected, HeaderTokens.IsToken(value));

    [Theory]
    [InlineData(" \tvalue \t", "value")]
    [InlineData("in side", "in side")]
    [InlineData("\r\nvalue", "\r\nvalue")]
    [InlineData("   ", "")]
    public void TrimOws_Value_TrimsOnlySpacesAndTabs(string value, string expected)
    {
        Assert.Equal(expected, HeaderTokens.TrimOws(value.AsSpan()).ToString());
        Assert.Equal(expected, System.Text.Encoding.ASCII.GetString(HeaderTokens.TrimOws(System.Text.Encoding.ASCII.GetBytes(value).AsSpan())));
    }

    [Fact]
    public void ContainsToken_Warm_AllocatesNothing()
    {
        const string value = "keep-alive, , Upgrade";
        Assert.True(HeaderTokens.ContainsToken(value, "upgrade"));
        long before = GC.GetAllocatedBytesForCurrentThread();
        bool found = HeaderTokens.ContainsToken(value, "upgrade");
        Assert.Equal(before, GC.GetAllocatedBytesForCurrentThread());
        Assert.True(found);
    }
}
