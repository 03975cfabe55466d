using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Shockwave.Protocol;

namespace Shockwave.Middleware.Tests.Options;

public sealed class WibeSocketOptionsTests
{
    [Fact]
    public void LoweringOnlyTheMessageLimit_IsValid_AndTheFrameLimitFollowsIt()
    {
        // Regression: MaxMessageSize = 64 KiB alone used to fail at start ("MaxFramePayloadLength (16777216) cannot exceed MaxMessageSize (65536)").
        var options = Resolve(o => o.MaxMessageSize = 64 * 1024);
        Assert.Equal(64 * 1024, options.MaxMessageSize);
        Assert.Equal(64 * 1024, options.MaxFramePayloadLength);
    }

    [Fact]
    public void BindingAnyOtherSetting_KeepsTheFrameLimitFollowingTheMessageLimit()
    {
        // Regression: with any WibeSocket setting in configuration, lowering MaxMessageSize in code failed at start
        // ("MaxFramePayloadLength (16777216) above MaxMessageSize (65536)").
        var options = Resolve(o => o.MaxMessageSize = 64 * 1024, new Dictionary<string, string?> { ["WibeSocket:Drain:Window"] = "00:00:05" });
        Assert.Equal(TimeSpan.FromSeconds(5), options.Drain.Window);
        Assert.Equal(64 * 1024, options.MaxFramePayloadLength);
    }

    [Fact]
    public void Defaults_ComeFromTheProtocolCore()
    {
        var options = new WibeSocketOptions();
        Assert.Equal(FrameReaderOptions.DefaultMaxFramePayloadLength, options.MaxFramePayloadLength);
        Assert.Equal(FrameReaderOptions.DefaultMaxMessageSize, options.MaxMessageSize);
        Assert.Equal(FrameReaderOptions.DefaultMaxFragmentsPerMessage, options.MaxFragmentsPerMessage);
    }

    [Fact]
    public void AnExplicitFrameLimitAboveTheMessageLimit_FailsAtStart_NamingBothSettings()
    {
        var failure = Assert.Throws<OptionsValidationException>(() => Resolve(o =>
        {
            o.MaxMessageSize = 1024;
            o.MaxFramePayloadLength = 4096;
        }));

        Assert.Contains(nameof(WibeSocketOptions.MaxFramePayloadLength), failure.Message);
        Assert.Contains(nameof(WibeSocketOptions.MaxMessageSize), failure.Message);
    }

    [Fact]
    public void AnExplicitFrameLimitBelowTheMessageLimit_IsKept()
    {
        var options = Resolve(o =>
        {
            o.MaxMessageSize = 1 << 20;
            o.MaxFramePayloadLength = 4096;
        });

        Assert.Equal(4096, options.MaxFramePayloadLength);
    }

    [Fact]
    public void Clone_KeepsWhetherTheFrameLimitWasSet()
    {
        var followed = new WibeSocketOptions { MaxMessageSize = 2048 }.Clone();
        followed.MaxMessageSize = 1024;
        Assert.Equal(1024, followed.MaxFramePayloadLength);

        var set = new WibeSocketOptions { MaxFramePayloadLength = 512 }.Clone();
        set.MaxMessageSize = 1024;
        Assert.Equal(512, set.MaxFramePayloadLength);
    }

    private static WibeSocketOptions Resolve(Action<WibeSocketOptions> configure, Dictionary<string, string?>? settings = null)
    {
        var services = new ServiceCollection().AddLogging();
        services.AddSingleton<IConfiguration>(new ConfigurationBuilder().AddInMemoryCollection(settings ?? []).Build());
        services.AddWibeSocket(configure);
        using var provider = services.BuildServiceProvider();
        return provider.GetRequiredService<IOptions<WibeSocketOptions>>().Value;
    }
}
