using System.Text;

namespace Shockwave.Conformance.Tests;

/// <summary>Small helpers the case definitions share.</summary>
internal static class CaseKit
{
    public static byte[] Utf8(string text) => Encoding.UTF8.GetBytes(text);

    public static byte[] Fill(int length, byte value) => Enumerable.Repeat(value, length).ToArray();

    public static byte[] Hex(string hex) => Convert.FromHexString(hex.Replace(" ", "", StringComparison.Ordinal));

    public static ServerEvent Text(byte[] payload) => ServerEvent.Text(payload);

    public static ServerEvent Text(string text) => ServerEvent.Text(text);

    public static ServerEvent Binary(byte[] payload) => ServerEvent.Binary(payload);

    public static ServerEvent Pong(byte[] payload) => ServerEvent.Pong(payload);

    public static readonly ushort[] ProtocolError = [1002];

    public static readonly ushort[] InvalidPayload = [1007];

    /// <summary>Deterministic pseudo-random bytes (a fixed seed per use, so every run sends the same data).</summary>
    public static byte[] Random(int length, int seed)
    {
        var bytes = new byte[length];
        new Random(seed).NextBytes(bytes);
        return bytes;
    }
}
