using System.Buffers;
using System.IO.Pipelines;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Shockwave.Protocol;
using Shockwave.Protocol.Compression;
using Shockwave.Protocol.Handshake;

namespace Shockwave.Testing.Tests;

/// <summary>
/// Just enough of a server to drive the test client: the server half of the RFC 6455 handshake (section 4.2.2) through
/// IHttpUpgradeFeature, and an echo loop on the protocol core. The real validation lives in the middleware.
/// </summary>
internal static class MiniWebSocketServer
{
    public static async Task<Stream?> AcceptAsync(HttpContext context, string? subProtocol = null, string? extensions = null, string? acceptOverride = null)
    {
        var upgrade = context.Features.Get<IHttpUpgradeFeature>();
        if (upgrade is not { IsUpgradableRequest: true })
        {
            context.Response.StatusCode = StatusCodes.Status426UpgradeRequired;
            context.Response.Headers.Upgrade = "websocket";
            return null;
        }

        string key = context.Request.Headers.SecWebSocketKey.ToString();
        if (!WebSocketAccept.IsValidKey(key) || context.Request.Headers.SecWebSocketVersion != WebSocketVersion.Current)
        {
            context.Response.StatusCode = StatusCodes.Status400BadRequest;
            return null;
        }

        context.Response.Headers.Upgrade = "websocket";
        context.Response.Headers.SecWebSocketAccept = acceptOverride ?? WebSocketAccept.ComputeAccept(key);
        if (subProtocol is not null)
        {
            context.Response.Headers.SecWebSocketProtocol = subProtocol;
        }

        if (extensions is not null)
        {
            context.Response.Headers.SecWebSocketExtensions = extensions;
        }

        return await upgrade.UpgradeAsync();
    }

    /// <summary>Echoes every data message as one frame, answers pings, echoes the close code, fails on a protocol error.</summary>
    public static Task EchoAsync(Stream stream, CancellationToken cancellationToken) => EchoAsync(stream, deflate: null, cancellationToken);

    /// <summary>
    /// Echoes every data message as one frame, compressed when it arrived compressed (so a compressed echo proves both
    /// directions), with the negotiated permessage-deflate <paramref name="deflate"/>; answers pings, echoes the close
    /// code, fails on a protocol error.
    /// </summary>
    public static async Task EchoAsync(Stream stream, PerMessageDeflateParameters? deflate, CancellationToken cancellationToken)
    {
        var input = PipeReader.Create(stream);
        var output = PipeWriter.Create(stream);
        var reader = new WebSocketFrameReader(WebSocketRole.Server, new FrameReaderOptions { AllowCompressedMessages = deflate is not null });
        var options = new PerMessageDeflateOptions { Enabled = true };
        using var assembler = new MessageAssembler(
            FrameReaderOptions.DefaultMaxMessageSize,
            deflate is { } inflate ? new PerMessageDeflateDecompressor(inflate, options, FrameReaderOptions.DefaultMaxMessageSize) : null);
        using var compressor = deflate is { } parameters ? new PerMessageDeflateCompressor(parameters, options) : null;
        var compressed = new ArrayBufferWriter<byte>();
        var opcode = WebSocketOpcode.Text;
        bool messageCompressed = false;
        while (true)
        {
            var result = await input.ReadAsync(cancellationToken);
            var buffer = result.Buffer;
            while (true)
            {
                var status = reader.Read(ref buffer, out var segment, out var error);
                if (status == FrameReadStatus.NeedMoreData)
                {
                    break;
                }

                if (status == FrameReadStatus.ControlFrame)
                {
                    if (segment.Opcode == WebSocketOpcode.Ping)
                    {
                        WebSocketFrameWriter.WriteFrame(output, WebSocketOpcode.Pong, fin: true, rsv1: false, segment.Payload, maskKey: null);
                        await output.FlushAsync(cancellationToken);
                    }
                    else if (segment.Opcode == WebSocketOpcode.Close)
                    {
                        var (code, reason) = ClosePayload.Parse(segment.Payload);
                        WebSocketFrameWriter.WriteClose(output, WebSocketRole.Server, code == WebSocketCloseStatus.NoStatusReceived ? null : code, reason);
                        await output.FlushAsync(cancellationToken);
                        return;
                    }

                    continue;
                }

                if (status == FrameReadStatus.MessagePayload)
                {
                    if (segment.IsMessageStart)
                    {
                        opcode = segment.Opcode;
                        messageCompressed = segment.IsCompressed;
                    }

                    var assembly = assembler.Append(segment, out error);
                    if (assembly == MessageAssemblyStatus.NeedMoreData)
                    {
                        continue;
                    }

                    if (assembly == MessageAssemblyStatus.MessageComplete)
                    {
                        using var message = assembler.TakeMessage();
                        var payload = message.WrittenSpan;
                        if (messageCompressed)
                        {
                            compressed.ResetWrittenCount();
                            compressor!.Compress(payload, compressed);
                            payload = compressed.WrittenSpan;
                        }

                        WebSocketFrameWriter.WriteFrame(output, WebSocketRole.Server, opcode, fin: true, rsv1: messageCompressed, payload);
                        await output.FlushAsync(cancellationToken);
                        continue;
                    }
                }

                WebSocketFrameWriter.WriteClose(output, WebSocketRole.Server, error.CloseStatus, error.Reason);
                await output.FlushAsync(cancellationToken);
                return;
            }

            input.AdvanceTo(buffer.Start, result.Buffer.End);
            if (result.IsCompleted)
            {
                return;
            }
        }
    }

    /// <summary>Writes one server frame (unmasked unless a mask key is given, which only a broken server would do).</summary>
    public static async Task WriteFrameAsync(Stream stream, WebSocketOpcode opcode, ReadOnlyMemory<byte> payload, bool fin = true, bool rsv1 = false, uint? maskKey = null)
    {
        var frame = new ArrayBufferWriter<byte>();
        WebSocketFrameWriter.WriteFrame(frame, opcode, fin, rsv1, payload.Span, maskKey);
        await stream.WriteAsync(frame.WrittenMemory);
        await stream.FlushAsync();
    }

    /// <summary>Reads one whole, unfragmented client frame and returns it unmasked; null at end of stream.</summary>
    public static async Task<(WebSocketOpcode Opcode, byte[] Payload)?> ReadFrameAsync(PipeReader input, CancellationToken cancellationToken)
    {
        var options = new FrameReaderOptions();
        while (true)
        {
            var result = await input.ReadAsync(cancellationToken);
            var buffer = result.Buffer;
            var header = WebSocketFrameReader.TryReadHeader(buffer, WebSocketRole.Server, options, out var frameHeader, out var error);
            if (header == OperationStatus.InvalidData)
            {
                throw new WebSocketProtocolException(error);
            }

            if (header == OperationStatus.Done && buffer.Length >= frameHeader.HeaderLength + frameHeader.PayloadLength)
            {
                var frame = buffer.Slice(0, frameHeader.HeaderLength + frameHeader.PayloadLength);
                var reader = new WebSocketFrameReader(WebSocketRole.Server, options);
                reader.Read(ref frame, out var segment, out error);
                var read = (segment.Opcode, segment.Payload.ToArray());
                input.AdvanceTo(frame.Start);
                return read;
            }

            input.AdvanceTo(buffer.Start, buffer.End);
            if (result.IsCompleted)
            {
                return null;
            }
        }
    }
}
