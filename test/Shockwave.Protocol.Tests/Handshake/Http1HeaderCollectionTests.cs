using Shockwave.Protocol.Handshake;

namespace Shockwave.Protocol.Tests.Handshake;

public class Http1HeaderCollectionTests
{
    private static Http1HeaderCollection Create(params (string Name, string Value)[] fields) =>
        new(fields.Select(f => new KeyValuePair<string, string>(f.Name, f.Value)).ToList());

    [Fact]
    public void GetCount_RepeatedNameAnyCase_CountsEveryLine()
    {
        var headers = Create(("Sec-WebSocket-Key", "a"), ("Host", "h"), ("sec-websocket-key", "b"));
        Assert.Equal(2, headers.GetCount("SEC-WEBSOCKET-KEY"));
        Assert.Equal(1, headers.GetCount("host"));
        Assert.Equal(0, headers.GetCount("Origin"));
        Assert.Equal(3, headers.Count);
    }

    [Fact]
    public void GetFirstValue_RepeatedName_FirstInArrivalOrder()
    {
        var headers = Create(("X", "1"), ("x", "2"));
        Assert.Equal("1", headers.GetFirstValue("X"));
        Assert.Null(headers.GetFirstValue("Y"));
        Assert.True(headers.Contains("x"));
        Assert.False(headers.Contains("X-"));
    }

    // RFC 9110 section 5.3: lines of a list field combine with commas.
    [Fact]
    public void GetCombinedValue_SeveralLines_JoinedWithComma()
    {
        var headers = Create(("Connection", "keep-alive"), ("Host", "h"), ("connection", "Upgrade"), ("CONNECTION", ""));
        Assert.Equal("keep-alive, Upgrade, ", headers.GetCombinedValue("Connection"));
        Assert.Null(headers.GetCombinedValue("Upgrade"));
    }

    [Fact]
    public void GetCombinedValue_OneLine_SameInstance()
    {
        string value = new("websocket".AsSpan());
        var headers = Create(("Upgrade", value));
        Assert.Same(value, headers.GetCombinedValue("upgrade"));
    }

    [Fact]
    public void Enumerate_Fields_ArrivalOrderAndIndexer()
    {
        var headers = Create(("B", "2"), ("A", "1"), ("B", "3"));
        Assert.Equal(["B", "A", "B"], headers.Select(h => h.Key));
        Assert.Equal("3", headers[2].Value);
        var names = new List<string>();
        foreach (var field in headers)
        {
            names.Add(field.Value);
        }

        Assert.Equal(["2", "1", "3"], names);
    }
}
