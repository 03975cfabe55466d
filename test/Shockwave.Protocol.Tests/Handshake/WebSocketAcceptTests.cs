using System.Security.Cryptography;
using System.Text;
using Shockwave.Protocol.Handshake;

namespace Shockwave.Protocol.Tests.Handshake;

public class WebSocketAcceptTests
{
    private const string RfcKey = "dGhlIHNhbXBsZSBub25jZQ==";
    private const string RfcAccept = "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=";

    // R6455-4.2.2-j4: the section 1.3 example.
    [Fact]
    public void ComputeAccept_RfcSampleKey_ReturnsRfcAccept() =>
        Assert.Equal(RfcAccept, WebSocketAccept.ComputeAccept(RfcKey));

    // R6455-4.2.2-j4: the UTF-8 variant writes the same 28 bytes.
    [Fact]
    public void TryComputeAccept_Utf8RfcSampleKey_WritesRfcAccept()
    {
        Span<byte> destination = stackalloc byte[40];
        Assert.True(WebSocketAccept.TryComputeAccept(Encoding.ASCII.GetBytes(RfcKey), destination, out int written));
        Assert.Equal(WebSocketAccept.AcceptLength, written);
        Assert.Equal(RfcAccept, Encoding.ASCII.GetString(destination[..written]));
    }

    // R6455-4.2.2-j4: the key is hashed as sent, not decoded first. Hash the decoded nonce instead and the result differs.
    [Fact]
    public void TryComputeAccept_HashesKeyTextNotDecodedNonce_MatchesIndependentComputation()
    {
        Span<char> destination = stackalloc char[WebSocketAccept.AcceptLength];
        for (int i = 0; i < 32; i++)
        {
            string key = Convert.ToBase64String(RandomNumberGenerator.GetBytes(16));
#pragma warning disable CA5350 // the algorithm under test
            string expected = Convert.ToBase64String(SHA1.HashData(Encoding.ASCII.GetBytes(key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11")));
#pragma warning restore CA5350
            Assert.True(WebSocketAccept.TryComputeAccept(key, destination, out int written));
            Assert.Equal(expected, destination[..written].ToString());
        }
    }

    // Optional whitespace around a field value is not part of it (RFC 9110 section 5.5).
    [Theory]
    [InlineData(" " + RfcKey)]
    [InlineData(RfcKey + "\t")]
    [InlineData(" \t" + RfcKey + "  ")]
    public void TryComputeAccept_KeyWithSurroundingWhitespace_SameAcceptAsTrimmed(string key)
    {
        Span<char> chars = stackalloc char[WebSocketAccept.AcceptLength];
        Assert.True(WebSocketAccept.TryComputeAccept(key, chars, out _));
        Assert.Equal(RfcAccept, chars.ToString());

        Span<byte> bytes = stackalloc byte[WebSocketAccept.AcceptLength];
        Assert.True(WebSocketAccept.TryComputeAccept(Encoding.ASCII.GetBytes(key), bytes, out _));
        Assert.Equal(RfcAccept, Encoding.ASCII.GetString(bytes));
    }

    [Fact]
    public void TryComputeAccept_DestinationTooSmall_ReturnsFalseAndWritesNothing()
    {
        Span<char> chars = stackalloc char[WebSocketAccept.AcceptLength - 1];
        chars.Fill('x');
        Assert.False(WebSocketAccept.TryComputeAccept(RfcKey, chars, out int written));
        Assert.Equal(0, written);
        Assert.Equal(new string('x', chars.Length), chars.ToString());

        Span<byte> bytes = stackalloc byte[WebSocketAccept.AcceptLength - 1];
        Assert.False(WebSocketAccept.TryComputeAccept(Encoding.ASCII.GetBytes(RfcKey), bytes, out written));
        Assert.Equal(0, written);
    }

    [Fact]
    public void TryComputeAccept_InvalidKey_ReturnsFalse()
    {
        Span<char> chars = stackalloc char[WebSocketAccept.AcceptLength];
        Assert.False(WebSocketAccept.TryComputeAccept("AAAAAAAAAAAAAAAAAAAA", chars, out int written));
        Assert.Equal(0, written);
        Assert.Throws<ArgumentException>(() => WebSocketAccept.ComputeAccept("not a key"));
        Assert.Throws<ArgumentNullException>(() => WebSocketAccept.ComputeAccept(null!));
    }

    public static TheoryData<string, bool> Keys => new()
    {
        // R6455-4.2.1-a5: exactly 16 decoded bytes.
        { RfcKey, true },
        { "AAAAAAAAAAAAAAAAAAAAAA==", true },
        { "/////////////////////w==", true },
        { "+/+/+/+/+/+/+/+/+/+/+w==", true },
        // The 4 unused bits of the last digit are set: still 16 bytes to a lenient decoder (RFC 4648 section 3.5).
        { "dGhlIHNhbXBsZSBub25jZR==", true },
        // Surrounding optional whitespace is trimmed.
        { " " + RfcKey + " ", true },
        { "\t" + RfcKey, true },
        // 15 bytes.
        { "AAAAAAAAAAAAAAAAAAAA", false },
        { "dGhlIHNhbXBsZSBub25j", false },
        // 17 bytes.
        { "AAAAAAAAAAAAAAAAAAAAAAA=", false },
        { "AAAAAAAAAAAAAAAAAAAAAAAA", false },
        // 16 bytes spelled without padding or with half of it.
        { "dGhlIHNhbXBsZSBub25jZQ", false },
        { "dGhlIHNhbXBsZSBub25jZQ=", false },
        { "dGhlIHNhbXBsZSBub25jZQ===", false },
        // Not base64: base64url digits, inner whitespace, punctuation, non-ASCII, control characters.
        { "dGhlIHNhbXBsZSBub25jZ-==", false },
        { "dGhlIHNhbXBsZSBub25jZ_==", false },
        { "dGhlIHNhbXBs ZSBub25jZQ==", false },
        { "dGhlIHNhbXBsZSBub25jZQ=\u00e9", false },
        { "dGhlIHNhbXBsZSBub25j\u00e9Q==", false },
        { "dGhlIHNhbXBsZSBub25jZQ==\r", false },
        { "dGhlIHNhbXBsZSBub25jZ!==", false },
        { "====AAAAAAAAAAAAAAAAAAAA", false },
        { "", false },
        { "   ", false },
    };

    // R6455-4.2.1-a5: both overloads agree on every key.
    [Theory]
    [MemberData(nameof(Keys))]
    public void IsValidKey_Key_MatchesExpected(string key, bool expected)
    {
        Assert.Equal(expected, WebSocketAccept.IsValidKey(key));
        Assert.Equal(expected, WebSocketAccept.IsValidKey(Encoding.Latin1.GetBytes(key)));
    }

    // R6455-4.2.1-a5: cross-checked against the BCL decoder for random nonces of 15, 16 and 17 bytes.
    [Theory]
    [InlineData(15)]
    [InlineData(16)]
    [InlineData(17)]
    public void IsValidKey_RandomNonces_ValidOnlyFor16Bytes(int length)
    {
        var random = new Random(length);
        for (int i = 0; i < 64; i++)
        {
            var nonce = new byte[length];
            random.NextBytes(nonce);
            string key = Convert.ToBase64String(nonce);
            Assert.Equal(length == 16, WebSocketAccept.IsValidKey(key));
            Assert.Equal(length == 16, WebSocketAccept.IsValidKey(Encoding.ASCII.GetBytes(key)));
        }
    }

    // R6455-4.1-v, R6455-4.1-w: base64 of 16 random bytes, fresh every time.
    [Fact]
    public void CreateClientKey_ManyKeys_ValidAndDistinct()
    {
        var keys = new HashSet<string>();
        for (int i = 0; i < 100; i++)
        {
            string key = WebSocketAccept.CreateClientKey();
            Assert.True(WebSocketAccept.IsValidKey(key));
            Assert.Equal(16, Convert.FromBase64String(key).Length);
            Assert.True(keys.Add(key));
        }
    }

    // R6455-4.1-af: the client's check, surrounding whitespace ignored, base64 case-sensitive.
    [Theory]
    [InlineData(RfcKey, RfcAccept, true)]
    [InlineData(RfcKey, " " + RfcAccept + "\t", true)]
    [InlineData(RfcKey, "S3pPLMBiTxaQ9kYGzzhZRbK+xOo=", false)]
    [InlineData(RfcKey, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo", false)]
    [InlineData(RfcKey, "", false)]
    [InlineData("AAAAAAAAAAAAAAAAAAAAAA==", RfcAccept, false)]
    [InlineData("invalid", RfcAccept, false)]
    public void IsExpectedAccept_Pair_MatchesExpected(string key, string accept, bool expected) =>
        Assert.Equal(expected, WebSocketAccept.IsExpectedAccept(key, accept));

    // The handshake runs once per connection on the hot accept path: no garbage.
    [Fact]
    public void TryComputeAccept_Warm_AllocatesNothing()
    {
        byte[] keyBytes = Encoding.ASCII.GetBytes(RfcKey);
        var chars = new char[WebSocketAccept.AcceptLength];
        var bytes = new byte[WebSocketAccept.AcceptLength];
        Run();
        long before = GC.GetAllocatedBytesForCurrentThread();
        Run();
        Assert.Equal(before, GC.GetAllocatedBytesForCurrentThread());

        void Run()
        {
            Assert.True(WebSocketAccept.IsValidKey(RfcKey));
            Assert.True(WebSocketAccept.TryComputeAccept(RfcKey, chars, out _));
            Assert.True(WebSocketAccept.TryComputeAccept(keyBytes, bytes, out _));
        }
    }
}
