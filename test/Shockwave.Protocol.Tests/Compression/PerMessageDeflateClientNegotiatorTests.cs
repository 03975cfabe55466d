using System.Buffers;
using Shockwave.Protocol.Compression;
using static Shockwave.Protocol.Tests.Compression.DeflateTestData;

namespace Shockwave.Protocol.Tests.Compression;

public class PerMessageDeflateClientNegotiatorTests
{
    private static readonly PerMessageDeflateClientOffer Usual =
        PerMessageDeflateClientOffer.FromOptions(new PerMessageDeflateOptions { Enabled = true })!.Value;

    // ---- The offer (R7692-5-a, R7692-5-b) ----

    // R7692-5-a: the offer names the extension; R7692-5-b: no server_max_window_bits means the client inflates 32 KiB.
    public static TheoryData<PerMessageDeflateOptions, string> OptionsAndOffers => new()
    {
        { new() { Enabled = true }, "permessage-deflate; client_max_window_bits" },
        { new() { Enabled = true, ClientMaxWindowBits = 12 }, "permessage-deflate; client_max_window_bits=12" },
        { new() { Enabled = true, ServerMaxWindowBits = 10 }, "permessage-deflate; server_max_window_bits=10; client_max_window_bits" },
        { new() { Enabled = true, ServerMaxWindowBits = 15 }, "permessage-deflate; client_max_window_bits" },
        { new() { Enabled = true, ServerNoContextTakeover = true }, "permessage-deflate; server_no_context_takeover; client_max_window_bits" },
        { new() { Enabled = true, RequireClientNoContextTakeover = true }, "permessage-deflate; client_no_context_takeover; client_max_window_bits" },
        {
            new() { Enabled = true, ServerNoContextTakeover = true, RequireClientNoContextTakeover = true, ServerMaxWindowBits = 8, ClientMaxWindowBits = 9 },
            "permessage-deflate; server_no_context_takeover; client_no_context_takeover; server_max_window_bits=8; client_max_window_bits=9"
        },
    };

    [Theory]
    [MemberData(nameof(OptionsAndOffers))]
    public void FromOptions_Options_OfferText(PerMessageDeflateOptions options, string expected)
    {
        string offer = PerMessageDeflateClientOffer.FromOptions(options)!.Value.ToHeaderValue();
        Assert.Equal(expected, offer);

        // R7692-7.1.2.1-a, R7692-7.1.2.2-a: well formed, so the server's negotiator accepts rather than declines it.
        var answer = new PerMessageDeflateNegotiator(new PerMessageDeflateOptions { Enabled = true }).Negotiate(offer);
        Assert.Equal(PerMessageDeflateNegotiationStatus.Accepted, answer.Status);
    }

    [Fact]
    public void FromOptions_Disabled_NoOffer() =>
        Assert.Null(PerMessageDeflateClientOffer.FromOptions(new PerMessageDeflateOptions()));

    [Fact]
    public void ToHeaderValue_Default_BareExtension() =>
        Assert.Equal("permessage-deflate", default(PerMessageDeflateClientOffer).ToHeaderValue());

    // R7692-7.1.2.1-a, R7692-7.1.2.2-a: window values are 8..15.
    [Theory]
    [InlineData(7, null)]
    [InlineData(16, null)]
    [InlineData(null, 7)]
    [InlineData(null, 16)]
    public void ToHeaderValue_WindowOutOfRange_Throws(int? serverBits, int? clientBits)
    {
        var offer = new PerMessageDeflateClientOffer { ServerMaxWindowBits = serverBits, ClientMaxWindowBits = clientBits };
        Assert.Throws<ArgumentOutOfRangeException>(() => offer.ToHeaderValue());
        Assert.Throws<ArgumentOutOfRangeException>(() => PerMessageDeflateClientNegotiator.Accept(offer, Element("permessage-deflate"), out _));
    }

    [Fact]
    public void FromOptions_InvalidOptions_Throws() =>
        Assert.Throws<ArgumentOutOfRangeException>(() => PerMessageDeflateClientOffer.FromOptions(new PerMessageDeflateOptions { Enabled = true, ClientMaxWindowBits = 16 }));

    // ---- Accepting the answer ----

    // R7692-7.1.1.2-a: client_no_context_takeover is supported in any answer; the server may add server_no_context_takeover
    // and server_max_window_bits unasked (section 7.1.1.1, 7.1.2.1); unanswered windows are 15 (section 7.1.2).
    public static TheoryData<string, PerMessageDeflateParameters> LegalAnswersToUsualOffer => new()
    {
        { "permessage-deflate", PerMessageDeflateParameters.Default },
        { "PERMESSAGE-DEFLATE", PerMessageDeflateParameters.Default },
        { "permessage-deflate; server_no_context_takeover", new(true, false, 15, 15) },
        { "permessage-deflate; client_no_context_takeover", new(false, true, 15, 15) },
        { "permessage-deflate; Client_No_Context_Takeover; SERVER_NO_CONTEXT_TAKEOVER", new(true, true, 15, 15) },
        { "permessage-deflate; server_max_window_bits=8", new(false, false, 8, 15) },
        { "permessage-deflate; server_max_window_bits=\"12\"", new(false, false, 12, 15) }, // R6455-4.3-a
        { "permessage-deflate; client_max_window_bits=9", new(false, false, 15, 9) },
        { "permessage-deflate; client_max_window_bits=15", new(false, false, 15, 15) },
        {
            "permessage-deflate; client_max_window_bits=10; server_max_window_bits=11; client_no_context_takeover; server_no_context_takeover",
            new(true, true, 11, 10)
        },
    };

    [Theory]
    [MemberData(nameof(LegalAnswersToUsualOffer))]
    public void Accept_LegalAnswer_Parameters(string answer, PerMessageDeflateParameters expected)
    {
        Assert.Equal(PerMessageDeflateResponseError.None, PerMessageDeflateClientNegotiator.Accept(Usual, Element(answer), out var parameters));
        Assert.Equal(expected, parameters);
    }

    // R7692-7.1.2.1-b: the same or a smaller window than asked for is granted.
    [Theory]
    [InlineData("permessage-deflate; server_max_window_bits=10", 10)]
    [InlineData("permessage-deflate; server_max_window_bits=9", 9)]
    [InlineData("permessage-deflate; server_max_window_bits=8", 8)]
    public void Accept_ServerWindowAtMostAsked_Granted(string answer, int bits)
    {
        var offer = Usual with { ServerMaxWindowBits = 10 };
        Assert.Equal(PerMessageDeflateResponseError.None, PerMessageDeflateClientNegotiator.Accept(offer, Element(answer), out var parameters));
        Assert.Equal(bits, parameters.ServerMaxWindowBits);
    }

    // Section 7.1.2.2: with client_max_window_bits=n offered, the client never uses more than 2^n, whatever the answer
    // (none, or a larger value); a smaller answer wins. Section 7.1.1.2: a promised client_no_context_takeover is kept.
    [Theory]
    [InlineData("permessage-deflate", 10)]
    [InlineData("permessage-deflate; client_max_window_bits=12", 10)]
    [InlineData("permessage-deflate; client_max_window_bits=10", 10)]
    [InlineData("permessage-deflate; client_max_window_bits=8", 8)]
    public void Accept_ClientKeepsItsOwnLimits(string answer, int clientBits)
    {
        var offer = new PerMessageDeflateClientOffer { ClientMaxWindowBits = 10, ClientNoContextTakeover = true };
        Assert.Equal(PerMessageDeflateResponseError.None, PerMessageDeflateClientNegotiator.Accept(offer, Element(answer), out var parameters));
        Assert.Equal(clientBits, parameters.ClientMaxWindowBits);
        Assert.True(parameters.ClientNoContextTakeover);
    }

    // R7692-7-b (and R6455-9.1-d): undefined, repeated and ill-valued parameters fail the connection.
    [Theory]
    [InlineData("permessage-deflate; foo", PerMessageDeflateResponseError.UnknownParameter)]
    [InlineData("permessage-deflate; foo=1", PerMessageDeflateResponseError.UnknownParameter)]
    [InlineData("permessage-deflate; max_window_bits=10", PerMessageDeflateResponseError.UnknownParameter)]
    [InlineData("permessage-deflate; server_no_context_takeover; server_no_context_takeover", PerMessageDeflateResponseError.DuplicateParameter)]
    [InlineData("permessage-deflate; client_no_context_takeover; Client_No_Context_Takeover", PerMessageDeflateResponseError.DuplicateParameter)]
    [InlineData("permessage-deflate; server_max_window_bits=10; server_max_window_bits=10", PerMessageDeflateResponseError.DuplicateParameter)]
    [InlineData("permessage-deflate; client_max_window_bits=10; client_max_window_bits=9", PerMessageDeflateResponseError.DuplicateParameter)]
    [InlineData("permessage-deflate; server_no_context_takeover=1", PerMessageDeflateResponseError.InvalidParameterValue)]
    [InlineData("permessage-deflate; client_no_context_takeover=\"x\"", PerMessageDeflateResponseError.InvalidParameterValue)]
    [InlineData("permessage-deflate; server_max_window_bits", PerMessageDeflateResponseError.InvalidParameterValue)]
    [InlineData("permessage-deflate; server_max_window_bits=7", PerMessageDeflateResponseError.InvalidParameterValue)]
    [InlineData("permessage-deflate; server_max_window_bits=16", PerMessageDeflateResponseError.InvalidParameterValue)]
    [InlineData("permessage-deflate; server_max_window_bits=08", PerMessageDeflateResponseError.InvalidParameterValue)]
    [InlineData("permessage-deflate; server_max_window_bits=abc", PerMessageDeflateResponseError.InvalidParameterValue)]
    [InlineData("permessage-deflate; client_max_window_bits", PerMessageDeflateResponseError.InvalidParameterValue)] // R7692-7.1.2.2-b
    [InlineData("permessage-deflate; client_max_window_bits=0", PerMessageDeflateResponseError.InvalidParameterValue)]
    [InlineData("permessage-deflate; client_max_window_bits=16", PerMessageDeflateResponseError.InvalidParameterValue)]
    [InlineData("permessage-deflate; client_max_window_bits=010", PerMessageDeflateResponseError.InvalidParameterValue)]
    public void Accept_InvalidParameter_Refused(string answer, PerMessageDeflateResponseError expected) => AssertRefused(Usual, answer, expected);

    // R7692-7.1.2.2-c: client_max_window_bits only if the offer had it.
    [Theory]
    [InlineData("permessage-deflate; client_max_window_bits=15")]
    [InlineData("permessage-deflate; client_max_window_bits=10")]
    [InlineData("permessage-deflate; client_max_window_bits")]
    public void Accept_UnofferedClientWindow_Refused(string answer) =>
        AssertRefused(default, answer, PerMessageDeflateResponseError.UnofferedClientMaxWindowBits);

    // R7692-7.1.2.1-b: a requested server_max_window_bits must be answered, and with the same or a smaller value.
    [Theory]
    [InlineData("permessage-deflate", PerMessageDeflateResponseError.MissingServerMaxWindowBits)]
    [InlineData("permessage-deflate; server_no_context_takeover", PerMessageDeflateResponseError.MissingServerMaxWindowBits)]
    [InlineData("permessage-deflate; server_max_window_bits=11", PerMessageDeflateResponseError.ServerMaxWindowBitsTooLarge)]
    [InlineData("permessage-deflate; server_max_window_bits=15", PerMessageDeflateResponseError.ServerMaxWindowBitsTooLarge)]
    public void Accept_RequestedServerWindowNotHonoured_Refused(string answer, PerMessageDeflateResponseError expected) =>
        AssertRefused(Usual with { ServerMaxWindowBits = 10 }, answer, expected);

    // Section 7.1.1.1: a requested server_no_context_takeover is granted only by answering it.
    [Fact]
    public void Accept_RequestedServerNoContextTakeoverMissing_Refused() =>
        AssertRefused(Usual with { ServerNoContextTakeover = true }, "permessage-deflate; client_no_context_takeover", PerMessageDeflateResponseError.MissingServerNoContextTakeover);

    // R7692-5-j: more than one permessage-deflate element; R6455-4.1-ag, R7692-5-f: any other extension.
    [Theory]
    [InlineData("permessage-deflate, permessage-deflate", PerMessageDeflateResponseError.DuplicateElement)]
    [InlineData("permessage-deflate; server_no_context_takeover, permessage-deflate", PerMessageDeflateResponseError.DuplicateElement)]
    [InlineData("x-webkit-deflate-frame", PerMessageDeflateResponseError.UnexpectedExtension)]
    [InlineData("permessage-deflate, x-foo", PerMessageDeflateResponseError.UnexpectedExtension)]
    [InlineData("x-foo, permessage-deflate", PerMessageDeflateResponseError.UnexpectedExtension)]
    public void Accept_ElementList_Refused(string answer, PerMessageDeflateResponseError expected)
    {
        Assert.True(WebSocketExtensionParser.TryParse(answer, out var elements));
        Assert.Equal(expected, PerMessageDeflateClientNegotiator.Accept(Usual, elements, out var parameters));
        Assert.Null(parameters);
    }

    // R7692-5-i: no element means the server declined; the connection runs uncompressed.
    [Fact]
    public void Accept_NoElement_UncompressedConnection()
    {
        Assert.Equal(PerMessageDeflateResponseError.None, PerMessageDeflateClientNegotiator.Accept(Usual, [], out var parameters));
        Assert.Null(parameters);
    }

    [Fact]
    public void Accept_OneElementInList_Parameters()
    {
        Assert.True(WebSocketExtensionParser.TryParse("permessage-deflate; server_max_window_bits=9", out var elements));
        Assert.Equal(PerMessageDeflateResponseError.None, PerMessageDeflateClientNegotiator.Accept(Usual, elements, out var parameters));
        Assert.Equal(new PerMessageDeflateParameters(false, false, 9, 15), parameters);
    }

    [Fact]
    public void GetMessage_EveryError_HasADistinctSentence()
    {
        var errors = Enum.GetValues<PerMessageDeflateResponseError>();
        var messages = errors.Select(PerMessageDeflateClientNegotiator.GetMessage).ToList();
        Assert.All(messages, m => Assert.False(string.IsNullOrWhiteSpace(m)));
        Assert.Equal(errors.Length, messages.Distinct().Count());
    }

    // ---- Round trip with the server's negotiator, and the codecs on both sides ----

    private static readonly PerMessageDeflateOptions[] ClientConfigs =
    [
        new() { Enabled = true },
        new() { Enabled = true, ClientMaxWindowBits = 10 },
        new() { Enabled = true, ServerMaxWindowBits = 10 },
        new() { Enabled = true, ServerNoContextTakeover = true },
        new() { Enabled = true, RequireClientNoContextTakeover = true },
        new() { Enabled = true, ServerMaxWindowBits = 9, ClientMaxWindowBits = 12, ServerNoContextTakeover = true, RequireClientNoContextTakeover = true },
    ];

    private static readonly PerMessageDeflateOptions[] ServerConfigs =
    [
        new() { Enabled = true },
        new() { Enabled = true, ServerMaxWindowBits = 11 },
        new() { Enabled = true, ClientMaxWindowBits = 9 },
        new() { Enabled = true, ServerNoContextTakeover = true },
        new() { Enabled = true, RequireClientNoContextTakeover = true },
        new() { Enabled = true, ServerMaxWindowBits = 12, ClientMaxWindowBits = 11, ServerNoContextTakeover = true, RequireClientNoContextTakeover = true },
    ];

    public static TheoryData<int, int> ConfigPairs
    {
        get
        {
            var data = new TheoryData<int, int>();
            for (int c = 0; c < ClientConfigs.Length; c++)
            {
                for (int s = 0; s < ServerConfigs.Length; s++)
                {
                    data.Add(c, s);
                }
            }

            return data;
        }
    }

    public static TheoryData<int, int, string> ConfigPairsAndCodecs
    {
        get
        {
            var data = new TheoryData<int, int, string>();
            for (int c = 0; c < ClientConfigs.Length; c++)
            {
                for (int s = 0; s < ServerConfigs.Length; s++)
                {
                    foreach (string codec in CodecNames)
                    {
                        data.Add(c, s, codec);
                    }
                }
            }

            return data;
        }
    }

    // R7692-5-a, R7692-5-c, R7692-5-k: client offer -> server negotiator -> server's answer -> client accepts it, and both
    // ends arrive at the same parameters. The client's limits hold in the result (R7692-7.1.2.1-b, section 7.1.2.2).
    [Theory]
    [MemberData(nameof(ConfigPairs))]
    public void RoundTrip_OfferThroughServerNegotiator_SameParametersBothEnds(int client, int server)
    {
        var (clientParameters, serverParameters) = Negotiate(ClientConfigs[client], ServerConfigs[server]);

        Assert.Equal(serverParameters, clientParameters);
        var clientOptions = ClientConfigs[client];
        Assert.True(clientParameters.ServerMaxWindowBits <= clientOptions.ServerMaxWindowBits);
        Assert.True(clientParameters.ClientMaxWindowBits <= (clientOptions.ClientMaxWindowBits ?? 15));
        Assert.True(clientParameters.ServerNoContextTakeover || !clientOptions.ServerNoContextTakeover);
        Assert.True(clientParameters.ClientNoContextTakeover || !clientOptions.RequireClientNoContextTakeover);
    }

    // R7692-5-k, R7692-7.2.1-d, R7692-7.2.1-f, R7692-7.2.2-a, R7692-7.2.2-d: with the negotiated parameters, what a
    // client-role compressor sends a server-role decompressor inflates, and the reverse, over several messages so the
    // kept or dropped windows matter. The client's output never reaches past its agreed window, nor into earlier
    // messages when client_no_context_takeover was agreed.
    [Theory]
    [MemberData(nameof(ConfigPairsAndCodecs))]
    public void RoundTrip_NegotiatedParameters_EachRoleInflatesTheOther(int client, int server, string codec)
    {
        var clientOptions = ClientConfigs[client] with { Codec = CodecOf(codec) };
        var serverOptions = ServerConfigs[server] with { Codec = CodecOf(codec) };
        var (clientParameters, serverParameters) = Negotiate(clientOptions, serverOptions);
        byte[][] messages = [RepeatsAtDistances(seed: 11), Json(20_000, seed: 12), Json(3000, seed: 13), Json(3000, seed: 13), [], "Hello"u8.ToArray()];

        using (var compressor = new PerMessageDeflateCompressor(clientParameters, clientOptions, WebSocketRole.Client))
        using (var decompressor = new PerMessageDeflateDecompressor(serverParameters, serverOptions, 1 << 20, WebSocketRole.Server))
        {
            var reference = new ReferenceInflater();
            foreach (var message in messages)
            {
                byte[] payload = DeflateTestData.Compress(compressor, message);
                AssertSameBytes(message, reference.DecodeMessage(payload));
                AssertSameBytes(message, DeflateTestData.Decompress(decompressor, payload));
            }

            Assert.InRange(reference.MaxDistance, 0, 1 << clientParameters.ClientMaxWindowBits);
            if (clientParameters.ClientNoContextTakeover)
            {
                Assert.Equal(0, reference.MaxDistanceIntoEarlierMessages);
            }
        }

        using (var compressor = new PerMessageDeflateCompressor(serverParameters, serverOptions, WebSocketRole.Server))
        using (var decompressor = new PerMessageDeflateDecompressor(clientParameters, clientOptions, 1 << 20, WebSocketRole.Client))
        {
            var reference = new ReferenceInflater();
            foreach (var message in messages)
            {
                byte[] payload = DeflateTestData.Compress(compressor, message);
                AssertSameBytes(message, reference.DecodeMessage(payload));
                AssertSameBytes(message, DeflateTestData.Decompress(decompressor, payload));
            }

            Assert.InRange(reference.MaxDistance, 0, 1 << clientParameters.ServerMaxWindowBits);
            if (clientParameters.ServerNoContextTakeover)
            {
                Assert.Equal(0, reference.MaxDistanceIntoEarlierMessages);
            }
        }
    }

    // The client is stricter than agreed (it offered client_max_window_bits=10, the answer left it out, so the server
    // allows 15): the client still compresses within 2^10, and the server's decompressor with its own parameters decodes it.
    [Theory]
    [MemberData(nameof(Codecs), MemberType = typeof(DeflateTestData))]
    public void ClientStricterThanAgreed_ServerParametersStillInflate(string codec)
    {
        var offer = new PerMessageDeflateClientOffer { ClientMaxWindowBits = 10, ClientNoContextTakeover = true };
        Assert.Equal(PerMessageDeflateResponseError.None, PerMessageDeflateClientNegotiator.Accept(offer, Element("permessage-deflate"), out var clientParameters));
        var options = new PerMessageDeflateOptions { Enabled = true, Codec = CodecOf(codec) };

        using var compressor = new PerMessageDeflateCompressor(clientParameters, options, WebSocketRole.Client);
        using var decompressor = new PerMessageDeflateDecompressor(PerMessageDeflateParameters.Default, options, 1 << 20, WebSocketRole.Server);
        var reference = new ReferenceInflater();
        foreach (var message in new[] { RepeatsAtDistances(seed: 21), Json(5000, seed: 22), Json(5000, seed: 22) })
        {
            byte[] payload = DeflateTestData.Compress(compressor, message);
            AssertSameBytes(message, reference.DecodeMessage(payload));
            AssertSameBytes(message, DeflateTestData.Decompress(decompressor, payload));
        }

        Assert.InRange(reference.MaxDistance, 0, 1 << 10);
        Assert.Equal(0, reference.MaxDistanceIntoEarlierMessages);
    }

    private static (PerMessageDeflateParameters Client, PerMessageDeflateParameters Server) Negotiate(PerMessageDeflateOptions clientOptions, PerMessageDeflateOptions serverOptions)
    {
        var offer = PerMessageDeflateClientOffer.FromOptions(clientOptions)!.Value;
        var answer = new PerMessageDeflateNegotiator(serverOptions).Negotiate(offer.ToHeaderValue());
        Assert.Equal(PerMessageDeflateNegotiationStatus.Accepted, answer.Status);

        Assert.True(WebSocketExtensionParser.TryParse(answer.ResponseHeaderValue, out var elements));
        Assert.Equal(PerMessageDeflateResponseError.None, PerMessageDeflateClientNegotiator.Accept(offer, elements, out var clientParameters));
        Assert.NotNull(clientParameters);
        return (clientParameters.Value, answer.Parameters);
    }

    private static PerMessageDeflateCodec CodecOf(string codec) => codec switch
    {
        "runtime" => PerMessageDeflateCodec.Runtime,
        "zlib" => PerMessageDeflateCodec.SystemZlib,
        _ => PerMessageDeflateCodec.Auto,
    };

    private static WebSocketExtensionOffer Element(string text)
    {
        Assert.True(WebSocketExtensionParser.TryParse(text, out var elements));
        return Assert.Single(elements);
    }

    private static void AssertRefused(in PerMessageDeflateClientOffer offer, string answer, PerMessageDeflateResponseError expected)
    {
        Assert.Equal(expected, PerMessageDeflateClientNegotiator.Accept(offer, Element(answer), out var parameters));
        Assert.Equal(default, parameters);
        Assert.NotEqual(PerMessageDeflateResponseError.None, expected);
    }
}
