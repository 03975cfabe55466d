namespace Shockwave.Conformance.Tests;

/// <summary>
/// Every conformance case as a theory row. A row passes when its verdict is OK, or a NON-STRICT/INFORMATIONAL outcome the
/// case itself declares acceptable (with the reason in its definition); bytewise and coalesced rows must also reach the
/// same verdict as the case's normal run.
/// </summary>
public sealed class ConformanceTests
{
    public static TheoryData<string> Rows()
    {
        var data = new TheoryData<string>();
        foreach (var row in ConformanceRunner.Rows)
        {
            data.Add(row.Name);
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(Rows))]
    public async Task Case(string row)
    {
        string key = row[..row.IndexOf(':', StringComparison.Ordinal)];
        var result = await ConformanceRunner.ResultOf(key).WaitAsync(TimeSpan.FromMinutes(10));
        ConformanceRunner.Judged(result);
        var c = result.Row.Case;
        string because = $"{result.Outcome.Verdict}: {result.Outcome.Detail}\nseen: {result.Seen}\ncase: {c.Description}";
        Assert.True(c.IsAcceptable(result.Outcome.Verdict), because);

        if (result.Row.Mode != WriteMode.Normal && c.VerdictMayVary is null)
        {
            var normal = await ConformanceRunner.ResultOf(c.Id).WaitAsync(TimeSpan.FromMinutes(10));
            Assert.True(normal.Outcome.Verdict == result.Outcome.Verdict,
                $"verdict changed with {result.Row.Mode} writes: normal {normal.Outcome.Verdict} ({normal.Outcome.Detail}), {because}");
        }
    }

    [Fact]
    public void Registry_HasAtLeast400UniqueNumberedCases()
    {
        var ids = CaseRegistry.All.Select(c => c.Id).ToList();
        Assert.True(ids.Count >= 400, $"{ids.Count} cases");
        Assert.Equal(ids.Count, ids.Distinct().Count());
        Assert.All(CaseRegistry.All, c => Assert.Matches(@"(R6455|R7692|RFC)", c.Description));
    }
}
