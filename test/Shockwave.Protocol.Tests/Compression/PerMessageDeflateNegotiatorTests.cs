using Shockwave.Protocol.Compression;

namespace Shockwave.Protocol.Tests.Compression;

public class PerMessageDeflateNegotiatorTests
{
    private static PerMessageDeflateNegotiation Negotiate(string? header, PerMessageDeflateOptions? options = null) =>
        new PerMessageDeflateNegotiator(options ?? new PerMessageDeflateOptions { Enabled = true }).Negotiate(header);

    private static void AssertDeclined(string header)
    {
        var result = Negotiate(header);
        Assert.Equal(PerMessageDeflateNegotiationStatus.Declined, result.Status);
        Assert.Null(result.ResponseHeaderValue); // R7692-5-i: no permessage-deflate element at all
        Assert.False(result.IsAccepted);
    }

    // R7692-5-c, R7692-7.1.1.1-S1, R7692-7.1.2.1-b, R7692-7.1.2.2-b/c: each legal offer is accepted with a legal answer.
    [Theory]
    [InlineData("permessage-deflate", "permessage-deflate")]
    [InlineData("PerMessage-Deflate", "permessage-deflate")]
    [InlineData("permessage-deflate; server_no_context_takeover", "permessage-deflate; server_no_context_takeover")]
    [InlineData("permessage-deflate; client_no_context_takeover", "permessage-deflate; client_no_context_takeover")]
    [InlineData("permessage-deflate; client_max_window_bits", "permessage-deflate")] // bare: may be left unanswered
    [InlineData("permessage-deflate; client_max_window_bits=10", "permessage-deflate; client_max_window_bits=10")]
    [InlineData("permessage-deflate; client_max_window_bits=\"10\"", "permessage-deflate; client_max_window_bits=10")] // R6455-4.3-a
    [InlineData("permessage-deflate; server_max_window_bits=8", "permessage-deflate; server_max_window_bits=8")]
    [InlineData("permessage-deflate; server_max_window_bits=9", "permessage-deflate; server_max_window_bits=9")]
    [InlineData("permessage-deflate; server_max_window_bits=10", "permessage-deflate; server_max_window_bits=10")]
    [InlineData("permessage-deflate; server_max_window_bits=11", "permessage-deflate; server_max_window_bits=11")]
    [InlineData("permessage-deflate; server_max_window_bits=12", "permessage-deflate; server_max_window_bits=12")]
    [InlineData("permessage-deflate; server_max_window_bits=13", "permessage-deflate; server_max_window_bits=13")]
    [InlineData("permessage-deflate; server_max_window_bits=14", "permessage-deflate; server_max_window_bits=14")]
    [InlineData("permessage-deflate; server_max_window_bits=15", "permessage-deflate; server_max_window_bits=15")]
    [InlineData("permessage-deflate; SERVER_MAX_WINDOW_BITS=\"12\"", "permessage-deflate; server_max_window_bits=12")]
    [InlineData(
        "permessage-deflate; client_max_window_bits=9; server_max_window_bits=11; client_no_context_takeover; server_no_context_takeover",
        "permessage-deflate; server_no_context_takeover; client_no_context_takeover; server_max_window_bits=11; client_max_window_bits=9")]
    public void LegalOffer_IsAcceptedWithLegalAnswer(string offer, string expected)
    {
        var result = Negotiate(offer);
        Assert.Equal(PerMessageDeflateNegotiationStatus.Accepted, result.Status);
        Assert.Equal(expected, result.ResponseHeaderValue);
    }

    [Fact]
    public void AcceptedOffer_ParametersMatchTheAnswer()
    {
        var result = Negotiate("permessage-deflate; client_max_window_bits=12; server_max_window_bits=10; server_no_context_takeover");
        Assert.Equal(new PerMessageDeflateParameters(ServerNoContextTakeover: true, ClientNoContextTakeover: false, 10, 12), result.Parameters);

        // Unnegotiated windows mean 32 KiB (RFC 7692 section 7.1.2).
        Assert.Equal(PerMessageDeflateParameters.Default, Negotiate("permessage-deflate; client_max_window_bits").Parameters);
    }

    // R7692-7-a1: a parameter not defined for offers.
    [Theory]
    [InlineData("permessage-deflate; foo")]
    [InlineData("permessage-deflate; foo=1")]
    [InlineData("permessage-deflate; max_window_bits=10")]
    [InlineData("permessage-deflate; client_max_window_bits; x")]
    public void UnknownParameter_IsDeclined(string offer) => AssertDeclined(offer);

    // R7692-7-a3: a repeated parameter.
    [Theory]
    [InlineData("permessage-deflate; server_no_context_takeover; server_no_context_takeover")]
    [InlineData("permessage-deflate; client_no_context_takeover; client_no_context_takeover")]
    [InlineData("permessage-deflate; server_max_window_bits=10; server_max_window_bits=10")]
    [InlineData("permessage-deflate; client_max_window_bits; client_max_window_bits")]
    [InlineData("permessage-deflate; client_max_window_bits=10; Client_Max_Window_Bits=11")]
    public void RepeatedParameter_IsDeclined(string offer) => AssertDeclined(offer);

    // R7692-7-a2, R7692-7.1.2.1-a, R7692-7.1.2.2-a: invalid values, a value where none is allowed, none where one is required.
    [Theory]
    [InlineData("permessage-deflate; server_max_window_bits")]
    [InlineData("permessage-deflate; server_max_window_bits=7")]
    [InlineData("permessage-deflate; server_max_window_bits=16")]
    [InlineData("permessage-deflate; server_max_window_bits=08")]
    [InlineData("permessage-deflate; server_max_window_bits=010")]
    [InlineData("permessage-deflate; server_max_window_bits=abc")]
    [InlineData("permessage-deflate; server_max_window_bits=-9")]
    [InlineData("permessage-deflate; server_max_window_bits=+9")]
    [InlineData("permessage-deflate; server_max_window_bits=\"016\"")]
    [InlineData("permessage-deflate; client_max_window_bits=0")]
    [InlineData("permessage-deflate; client_max_window_bits=7")]
    [InlineData("permessage-deflate; client_max_window_bits=16")]
    [InlineData("permessage-deflate; client_max_window_bits=09")]
    [InlineData("permessage-deflate; client_max_window_bits=1e1")]
    [InlineData("permessage-deflate; server_no_context_takeover=1")]
    [InlineData("permessage-deflate; server_no_context_takeover=true")]
    [InlineData("permessage-deflate; client_no_context_takeover=\"x\"")]
    public void InvalidParameterValue_IsDeclined(string offer) => AssertDeclined(offer);

    // R6455-4.3-a / RFC 6455 section 4.2.1: a grammar violation is reported so the handshake can be failed with 400.
    [Theory]
    [InlineData("permessage-deflate; client_max_window_bits=\"1 0\"")]
    [InlineData("permessage-deflate; client_max_window_bits=\"10")]
    [InlineData("permessage-deflate, x y")]
    public void MalformedHeader_IsReportedAndNothingIsAccepted(string header)
    {
        var result = Negotiate(header);
        Assert.Equal(PerMessageDeflateNegotiationStatus.MalformedHeader, result.Status);
        Assert.Null(result.ResponseHeaderValue);
    }

    [Theory]
    [InlineData("permessage-deflate; foo, permessage-deflate; server_max_window_bits=12", "permessage-deflate; server_max_window_bits=12")]
    [InlineData("permessage-deflate; server_max_window_bits=16, permessage-deflate; client_max_window_bits=11", "permessage-deflate; client_max_window_bits=11")]
    [InlineData("permessage-deflate; server_no_context_takeover, permessage-deflate", "permessage-deflate; server_no_context_takeover")]
    [InlineData("x-webkit-deflate-frame, permessage-deflate; client_no_context_takeover", "permessage-deflate; client_no_context_takeover")]
    public void SeveralOffers_FirstAcceptableWins(string header, string expected) =>
        Assert.Equal(expected, Negotiate(header).ResponseHeaderValue);

    [Fact]
    public void OffersAcrossHeaderLines_AreWalkedInOrder()
    {
        var negotiator = new PerMessageDeflateNegotiator(new PerMessageDeflateOptions { Enabled = true });
        var result = negotiator.Negotiate(["permessage-deflate; server_max_window_bits=7", "permessage-deflate; server_max_window_bits=9"]);
        Assert.Equal("permessage-deflate; server_max_window_bits=9", result.ResponseHeaderValue);
    }

    [Fact]
    public void AllOffersInvalid_IsDeclined() =>
        AssertDeclined("permessage-deflate; foo, permessage-deflate; server_max_window_bits=16");

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("x-webkit-deflate-frame")]
    [InlineData("permessage-deflate-x")]
    public void NoPermessageDeflate_IsNotOffered(string? header)
    {
        var result = Negotiate(header);
        Assert.Equal(PerMessageDeflateNegotiationStatus.NotOffered, result.Status);
        Assert.Null(result.ResponseHeaderValue);
    }

    [Fact]
    public void Disabled_AcceptsNothing()
    {
        var result = Negotiate("permessage-deflate", new PerMessageDeflateOptions());
        Assert.Equal(PerMessageDeflateNegotiationStatus.Disabled, result.Status);
        Assert.Null(result.ResponseHeaderValue);
    }

    [Theory]
    [InlineData("permessage-deflate", "permessage-deflate; server_max_window_bits=10")] // announced unasked (section 7.1.2.1)
    [InlineData("permessage-deflate; server_max_window_bits=12", "permessage-deflate; server_max_window_bits=10")] // smaller than offered
    [InlineData("permessage-deflate; server_max_window_bits=9", "permessage-deflate; server_max_window_bits=9")] // the client's smaller value wins
    public void ServerWindowOption_NeverExceedsTheOffer(string offer, string expected) =>
        Assert.Equal(expected, Negotiate(offer, new PerMessageDeflateOptions { Enabled = true, ServerMaxWindowBits = 10 }).ResponseHeaderValue);

    [Theory]
    [InlineData("permessage-deflate", "permessage-deflate")] // R7692-7.1.2.2-c: never answered when not offered
    [InlineData("permessage-deflate; client_max_window_bits", "permessage-deflate; client_max_window_bits=12")]
    [InlineData("permessage-deflate; client_max_window_bits=14", "permessage-deflate; client_max_window_bits=12")]
    [InlineData("permessage-deflate; client_max_window_bits=10", "permessage-deflate; client_max_window_bits=10")]
    public void ClientWindowOption_OnlyAnswersAnOffer(string offer, string expected)
    {
        var result = Negotiate(offer, new PerMessageDeflateOptions { Enabled = true, ClientMaxWindowBits = 12 });
        Assert.Equal(expected, result.ResponseHeaderValue);
    }

    [Fact]
    public void ContextTakeoverOptions_AreAnnouncedUnasked()
    {
        var options = new PerMessageDeflateOptions { Enabled = true, ServerNoContextTakeover = true, RequireClientNoContextTakeover = true };
        var result = Negotiate("permessage-deflate", options);
        Assert.Equal("permessage-deflate; server_no_context_takeover; client_no_context_takeover", result.ResponseHeaderValue);
        Assert.True(result.Parameters.ServerNoContextTakeover);
        Assert.True(result.Parameters.ClientNoContextTakeover);
    }

    /// <summary>
    /// Every combination of parameters a client can offer, against several server configurations: the answer is always
    /// one a strict client accepts (R7692-7-b): only defined parameters, each once, values 8..15, server_max_window_bits
    /// no larger than offered, client_max_window_bits only when offered, server_no_context_takeover when offered.
    /// </summary>
    [Fact]
    public void EveryLegalOffer_GetsAnAnswerAStrictClientAccepts()
    {
        int?[] windows = [null, 8, 9, 10, 11, 12, 13, 14, 15];
        var configurations = new[]
        {
            new PerMessageDeflateOptions { Enabled = true },
            new PerMessageDeflateOptions { Enabled = true, ServerMaxWindowBits = 9, ClientMaxWindowBits = 11 },
            new PerMessageDeflateOptions { Enabled = true, ServerNoContextTakeover = true, RequireClientNoContextTakeover = true, ClientMaxWindowBits = 15 },
        };
        int checkedCount = 0;
        foreach (var options in configurations)
        {
            var negotiator = new PerMessageDeflateNegotiator(options);
            foreach (bool serverNoContext in new[] { false, true })
            {
                foreach (bool clientNoContext in new[] { false, true })
                {
                    foreach (int? serverBits in windows)
                    {
                        foreach (bool clientBitsOffered in new[] { false, true })
                        {
                            foreach (int? clientBits in clientBitsOffered ? windows : [null])
                            {
                                string offer = "permessage-deflate"
                                    + (serverNoContext ? "; server_no_context_takeover" : "")
                                    + (clientNoContext ? "; client_no_context_takeover" : "")
                                    + (serverBits is null ? "" : $"; server_max_window_bits={serverBits}")
                                    + (clientBitsOffered ? "; client_max_window_bits" + (clientBits is null ? "" : $"={clientBits}") : "");
                                var result = negotiator.Negotiate(offer);
                                Assert.True(result.IsAccepted, offer);
                                AssertStrictClientAccepts(offer, serverNoContext, serverBits, clientBitsOffered, clientBits, result);
                                checkedCount++;
                            }
                        }
                    }
                }
            }
        }

        Assert.Equal(3 * 2 * 2 * 9 * (1 + 9), checkedCount);
    }

    private static void AssertStrictClientAccepts(string offer, bool serverNoContext, int? serverBits, bool clientBitsOffered, int? clientBits, PerMessageDeflateNegotiation result)
    {
        Assert.True(WebSocketExtensionParser.TryParse(result.ResponseHeaderValue, out var answers), offer);
        var answer = Assert.Single(answers);
        Assert.Equal("permessage-deflate", answer.Name);
        Assert.Equal(answer.Parameters.Count, answer.Parameters.Select(p => p.Name).Distinct().Count());
        var parameters = answer.Parameters.ToDictionary(p => p.Name, p => p.Value);
        foreach (var (name, value) in parameters)
        {
            switch (name)
            {
                case "server_no_context_takeover" or "client_no_context_takeover":
                    Assert.Null(value);
                    break;
                case "server_max_window_bits" or "client_max_window_bits":
                    Assert.NotNull(value); // R7692-7.1.2.2-b: never bare in a response
                    Assert.InRange(int.Parse(value), 8, 15);
                    Assert.Equal(int.Parse(value).ToString(System.Globalization.CultureInfo.InvariantCulture), value);
                    break;
                default:
                    Assert.Fail($"undefined parameter {name} answering {offer}");
                    break;
            }
        }

        if (serverNoContext)
        {
            Assert.True(parameters.ContainsKey("server_no_context_takeover"), offer);
        }

        if (serverBits is int offeredServerBits)
        {
            Assert.InRange(int.Parse(parameters["server_max_window_bits"]!), 8, offeredServerBits); // R7692-7.1.2.1-b
        }

        if (!clientBitsOffered)
        {
            Assert.False(parameters.ContainsKey("client_max_window_bits"), offer); // R7692-7.1.2.2-c
        }
        else if (clientBits is int offeredClientBits && parameters.TryGetValue("client_max_window_bits", out var answered))
        {
            Assert.InRange(int.Parse(answered!), 8, offeredClientBits);
        }

        // The parameters handed to the codec say the same as the header.
        Assert.Equal(parameters.ContainsKey("server_no_context_takeover"), result.Parameters.ServerNoContextTakeover);
        Assert.Equal(parameters.ContainsKey("client_no_context_takeover"), result.Parameters.ClientNoContextTakeover);
        Assert.Equal(parameters.TryGetValue("server_max_window_bits", out var s) ? int.Parse(s!) : 15, result.Parameters.ServerMaxWindowBits);
        Assert.Equal(parameters.TryGetValue("client_max_window_bits", out var c) ? int.Parse(c!) : 15, result.Parameters.ClientMaxWindowBits);
    }

    [Theory]
    [InlineData(nameof(PerMessageDeflateOptions.CompressionLevel), -1)]
    [InlineData(nameof(PerMessageDeflateOptions.CompressionLevel), 10)]
    [InlineData(nameof(PerMessageDeflateOptions.ServerMaxWindowBits), 7)]
    [InlineData(nameof(PerMessageDeflateOptions.ServerMaxWindowBits), 16)]
    [InlineData(nameof(PerMessageDeflateOptions.ClientMaxWindowBits), 7)]
    [InlineData(nameof(PerMessageDeflateOptions.ClientMaxWindowBits), 16)]
    [InlineData(nameof(PerMessageDeflateOptions.MinMessageSizeToCompress), -1)]
    [InlineData(nameof(PerMessageDeflateOptions.MemoryLevel), 0)]
    [InlineData(nameof(PerMessageDeflateOptions.MemoryLevel), 10)]
    public void OutOfRangeOption_IsRejectedAtStartup(string property, int value)
    {
        var options = new PerMessageDeflateOptions { Enabled = true };
        typeof(PerMessageDeflateOptions).GetProperty(property)!.SetValue(options, value);
        var error = Assert.Throws<ArgumentOutOfRangeException>(() => new PerMessageDeflateNegotiator(options));
        Assert.Equal(property, error.ParamName);
    }

    [Fact]
    public void OptionsChangedAfterCreation_DoNotAffectTheNegotiator()
    {
        var options = new PerMessageDeflateOptions { Enabled = true };
        var negotiator = new PerMessageDeflateNegotiator(options);
        options.ServerNoContextTakeover = true;
        options.Enabled = false;
        Assert.Equal("permessage-deflate", negotiator.Negotiate("permessage-deflate").ResponseHeaderValue);
    }

    [Fact]
    public void Defaults_MatchTheDocumentation()
    {
        var options = new PerMessageDeflateOptions();
        Assert.False(options.Enabled);
        Assert.Equal(6, options.CompressionLevel);
        Assert.Equal(15, options.ServerMaxWindowBits);
        Assert.False(options.ServerNoContextTakeover);
        Assert.False(options.RequireClientNoContextTakeover);
        Assert.Null(options.ClientMaxWindowBits);
        Assert.Equal(32, options.MinMessageSizeToCompress);
        Assert.Equal(PerMessageDeflateCodec.Auto, options.Codec);
        Assert.Equal(8, options.MemoryLevel);
        Assert.False(options.ShouldCompress(31));
        Assert.True(options.ShouldCompress(32));
    }
}
