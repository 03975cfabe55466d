using System.Buffers;
using System.Text;
using Shockwave.Protocol;
using Shockwave.Protocol.Compression;
using Shockwave.Runtime;

namespace Shockwave;

/// <summary>
/// A message framed once for sending to many connections: the broadcast, group and user sends of
/// <see cref="IWibeSocketClients"/> write these same bytes to every recipient. The frame lives in pooled memory with a
/// reference count, and goes back to the pool when this message is disposed and the last recipient has taken it.
/// </summary>
/// <remarks>
/// <para>Build one to send the same message repeatedly (a ticker, a room's welcome), or let the <c>IWibeSocketClients</c>
/// extensions that take a string or bytes build and dispose one per call.</para>
/// <para>permessage-deflate (RFC 7692): recipients that negotiated <c>server_no_context_takeover</c> share one compressed
/// frame per negotiated window size, built on first need. Recipients with context takeover get the uncompressed frame
/// (RSV1 clear, which section 6 allows at any time): their compression state is their own and cannot be shared.</para>
/// </remarks>
public sealed class WibeSocketPreparedMessage : IDisposable
{
    private readonly SharedFrame _plain;
    private readonly ArrayPool<byte> _pool;
    private readonly int _headerLength;
    private readonly Lock _gate = new();
    private SharedFrame?[]? _compressed; // by server window bits - 8, built for the first recipient that can take it
    private int _disposed;

    private WibeSocketPreparedMessage(ReadOnlySequence<byte> payload, WibeSocketMessageType type, ArrayPool<byte>? pool = null)
    {
        _pool = pool ?? ArrayPool<byte>.Shared;
        if (type is not (WibeSocketMessageType.Text or WibeSocketMessageType.Binary))
        {
            throw new ArgumentOutOfRangeException(nameof(type), type, "Only text and binary messages can be sent.");
        }

        if (payload.Length > Array.MaxLength - 14)
        {
            throw new ArgumentOutOfRangeException(nameof(payload), "The message is larger than one buffer can hold.");
        }

        if (type == WibeSocketMessageType.Text && !IsValidUtf8(payload))
        {
            // Section 8.1: a text message that is not UTF-8 would make every recipient fail the connection.
            throw new ArgumentException("A text message must be valid UTF-8 (RFC 6455 section 8.1).", nameof(payload));
        }

        Type = type;
        PayloadLength = (int)payload.Length;
        _headerLength = WebSocketFrameWriter.GetHeaderLength(payload.Length, masked: false);
        _plain = SharedFrame.Rent(_headerLength + PayloadLength, _pool);
        var span = _plain.GetWritableSpan();
        WebSocketFrameWriter.WriteHeader(span, OpcodeOf(type), fin: true, rsv1: false, payload.Length, maskKey: null);
        payload.CopyTo(span[_headerLength..]);
    }

    /// <summary>Text or binary.</summary>
    public WibeSocketMessageType Type { get; }

    /// <summary>The payload's length in bytes, before any compression.</summary>
    public int PayloadLength { get; }

    /// <summary>The payload as framed (what a backplane publishes); valid until this message is disposed.</summary>
    internal ReadOnlySpan<byte> Payload
    {
        get
        {
            ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
            return _plain.Bytes[_headerLength..];
        }
    }

    /// <summary>Frames <paramref name="payload"/> (copied) as one message of <paramref name="type"/>.</summary>
    /// <exception cref="ArgumentException">Text that is not valid UTF-8.</exception>
    public static WibeSocketPreparedMessage Create(ReadOnlySpan<byte> payload, WibeSocketMessageType type)
    {
        var copy = ArrayPool<byte>.Shared.Rent(payload.Length);
        try
        {
            payload.CopyTo(copy);
            return new WibeSocketPreparedMessage(new ReadOnlySequence<byte>(copy, 0, payload.Length), type);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(copy);
        }
    }

    /// <summary>Frames <paramref name="payload"/> (copied) as one message of <paramref name="type"/>; a received message's payload, say.</summary>
    public static WibeSocketPreparedMessage Create(ReadOnlySequence<byte> payload, WibeSocketMessageType type) => new(payload, type);

    /// <summary>Frames a received message to pass it on unchanged (same type, same bytes), before its borrowed payload is recycled.</summary>
    public static WibeSocketPreparedMessage Create(in WibeSocketMessage message) => new(message.Payload, message.Type);

    /// <summary>Frames from a given pool: tests count rentals with it.</summary>
    internal static WibeSocketPreparedMessage Create(ReadOnlySequence<byte> payload, WibeSocketMessageType type, ArrayPool<byte> pool) => new(payload, type, pool);

    /// <summary>Frames <paramref name="text"/> as a text message.</summary>
    public static WibeSocketPreparedMessage CreateText(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var buffer = ArrayPool<byte>.Shared.Rent(Encoding.UTF8.GetMaxByteCount(text.Length));
        try
        {
            int length = Encoding.UTF8.GetBytes(text, buffer);
            return new WibeSocketPreparedMessage(new ReadOnlySequence<byte>(buffer, 0, length), WibeSocketMessageType.Text);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    /// <summary>Gives up this message's own reference; recipients still sending keep the bytes alive until they are done.</summary>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        _plain.Release();
        lock (_gate)
        {
            if (_compressed is { } compressed)
            {
                foreach (var frame in compressed)
                {
                    frame?.Release();
                }
            }
        }
    }

    /// <summary>The frame for <paramref name="recipient"/>: the shared compressed one when its parameters allow, else the plain one.</summary>
    internal SharedFrame FrameFor(WibeSocketConnection recipient)
    {
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        var setup = recipient.Setup;
        if (setup.Compression is not { ServerNoContextTakeover: true } parameters
            || setup.CompressionOptions is not { } options
            || !options.ShouldCompress(PayloadLength))
        {
            return _plain;
        }

        int slot = parameters.ServerMaxWindowBits - PerMessageDeflateParameters.MinWindowBits;
        lock (_gate)
        {
            _compressed ??= new SharedFrame?[PerMessageDeflateParameters.MaxWindowBits - PerMessageDeflateParameters.MinWindowBits + 1];
            return _compressed[slot] ??= Compress(parameters, options);
        }
    }

    private SharedFrame Compress(PerMessageDeflateParameters parameters, PerMessageDeflateOptions options)
    {
        using var compressed = new PooledMessageBuffer(PayloadLength + 64);
        using (var compressor = new PerMessageDeflateCompressor(parameters, options, WebSocketRole.Server))
        {
            compressor.Compress(_plain.Bytes[_headerLength..], compressed);
        }

        int headerLength = WebSocketFrameWriter.GetHeaderLength(compressed.Length, masked: false);
        var frame = SharedFrame.Rent(headerLength + compressed.Length, _pool);
        var span = frame.GetWritableSpan();
        WebSocketFrameWriter.WriteHeader(span, OpcodeOf(Type), fin: true, rsv1: true, compressed.Length, maskKey: null);
        compressed.WrittenSpan.CopyTo(span[headerLength..]);
        return frame;
    }

    private static WebSocketOpcode OpcodeOf(WibeSocketMessageType type) => type == WibeSocketMessageType.Text ? WebSocketOpcode.Text : WebSocketOpcode.Binary;

    private static bool IsValidUtf8(in ReadOnlySequence<byte> payload)
    {
        if (payload.IsSingleSegment)
        {
            return Utf8Validator.IsValid(payload.FirstSpan);
        }

        var validator = default(Utf8Validator);
        foreach (var segment in payload)
        {
            if (!validator.Append(segment.Span))
            {
                return false;
            }
        }

        return validator.Complete();
    }
}
