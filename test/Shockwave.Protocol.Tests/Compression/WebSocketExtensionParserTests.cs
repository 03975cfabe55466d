using Shockwave.Protocol.Compression;

namespace Shockwave.Protocol.Tests.Compression;

public class WebSocketExtensionParserTests
{
    private static IReadOnlyList<WebSocketExtensionOffer> Parse(string header)
    {
        Assert.True(WebSocketExtensionParser.TryParse(header, out var offers), $"'{header}' should parse");
        return offers;
    }

    private static string Describe(IReadOnlyList<WebSocketExtensionOffer> offers) =>
        string.Join(" | ", offers.Select(o => o.Name + string.Concat(o.Parameters.Select(p => p.Value is null ? $";{p.Name}" : $";{p.Name}={p.Value}"))));

    [Theory]
    [InlineData("permessage-deflate", "permessage-deflate")]
    [InlineData("permessage-deflate; client_max_window_bits", "permessage-deflate;client_max_window_bits")]
    [InlineData("permessage-deflate;server_max_window_bits=10;client_no_context_takeover", "permessage-deflate;server_max_window_bits=10;client_no_context_takeover")]
    [InlineData("permessage-deflate ; server_max_window_bits = 10 ", "permessage-deflate;server_max_window_bits=10")]
    [InlineData("permessage-deflate; client_max_window_bits, permessage-deflate", "permessage-deflate;client_max_window_bits | permessage-deflate")]
    [InlineData("x-webkit-deflate-frame, permessage-deflate\t;\tfoo", "x-webkit-deflate-frame | permessage-deflate;foo")]
    [InlineData("a; b; b; b=1", "a;b;b;b=1")] // duplicates are kept; the extension judges them
    public void WellFormedHeader_YieldsOffersInOrder(string header, string expected) =>
        Assert.Equal(expected, Describe(Parse(header)));

    [Theory]
    [InlineData(", a ,, b ,", "a | b")] // RFC 9110 section 5.6.1.2: empty list elements are ignored
    [InlineData("a;;b=1;", "a;b=1")] // RFC 9110 section 5.6.6: empty parameters are ignored
    [InlineData("a ; , b", "a | b")]
    public void EmptyElementsAndParameters_AreSkipped(string header, string expected) =>
        Assert.Equal(expected, Describe(Parse(header)));

    [Theory]
    [InlineData("")]
    [InlineData(null)]
    [InlineData(" , ,")]
    public void EmptyHeader_YieldsNoOffers(string? header)
    {
        Assert.True(WebSocketExtensionParser.TryParse(header, out var offers));
        Assert.Empty(offers);
    }

    // R6455-4.3-a: a quoted-string value is unescaped and must then be a token.
    [Theory]
    [InlineData("a; b=\"10\"", "10")]
    [InlineData("a; b=\"1\\0\"", "10")] // quoted-pair escapes any character, even one that needs no escape
    [InlineData("a; b=\"x-y_z\"", "x-y_z")]
    public void QuotedTokenValue_IsUnescaped(string header, string expected)
    {
        var offer = Assert.Single(Parse(header));
        Assert.Equal(expected, Assert.Single(offer.Parameters).Value);
    }

    [Theory]
    [InlineData("a; b=\"1 0\"")] // R6455-4.3-a: a space is not a token character
    [InlineData("a; b=\"\"")] // a token is never empty
    [InlineData("a; b=\"1,0\"")]
    [InlineData("a; b=\"1\\\"0\"")] // an escaped quote is still a quote
    [InlineData("a; b=\"10")] // unterminated
    [InlineData("a; b=\"10\\")] // escape at the end
    [InlineData("a; b=\"1\u00e90\"")] // obs-text is legal in a quoted-string but not in a token
    public void QuotedValueThatIsNotAToken_IsMalformed(string header)
    {
        Assert.False(WebSocketExtensionParser.TryParse(header, out var offers));
        Assert.Empty(offers);
    }

    [Theory]
    [InlineData("; a")] // no extension name
    [InlineData("a; =1")] // no parameter name
    [InlineData("a; b=")] // "=" without a value
    [InlineData("a; b=1 2")] // text after a value
    [InlineData("a b")] // two tokens without a separator
    [InlineData("a=1")] // extensions have no value
    [InlineData("a; b=(1)")] // separators are not token characters
    [InlineData("a; b=1\"")]
    [InlineData("perm\u00e9ssage-deflate")] // not a token
    [InlineData("a\u0001")]
    public void BrokenGrammar_IsMalformed(string header)
    {
        Assert.False(WebSocketExtensionParser.TryParse(header, out var offers));
        Assert.Empty(offers);
    }

    [Fact]
    public void SeveralHeaderLines_AreOneListInOrder()
    {
        Assert.True(WebSocketExtensionParser.TryParse(["a; x=1", null, "b, c;y"], out var offers));
        Assert.Equal("a;x=1 | b | c;y", Describe(offers));
    }

    [Fact]
    public void OneMalformedLine_FailsTheWholeField()
    {
        // RFC 6455 section 4.2.1: a handshake field that breaks its ABNF is an error for the whole handshake.
        Assert.False(WebSocketExtensionParser.TryParse(["permessage-deflate", "x; y=\"1 0\""], out var offers));
        Assert.Empty(offers);
    }
}
