using System.Buffers;
using System.Security.Cryptography;

namespace Shockwave.Protocol.Tests.Support;

/// <summary>
/// One thing a reader delivered to its connection: a whole data message (its pieces reassembled), a control
/// frame, or the error that failed it. Strings keep the equality structural and the assertion diffs readable.
/// </summary>
internal sealed record ReaderEvent(string Kind, WebSocketOpcode Opcode, string Payload, bool Compressed, int Frames)
{
    public static ReaderEvent Message(WebSocketOpcode opcode, ReadOnlySpan<byte> payload, bool compressed = false, int frames = 1) =>
        new("Message", opcode, Describe(payload), compressed, frames);

    public static ReaderEvent Control(WebSocketOpcode opcode, ReadOnlySpan<byte> payload = default) =>
        new("Control", opcode, Describe(payload), false, 1);

    public static ReaderEvent Failure(ProtocolError error) =>
        new("Error", default, $"{error.Name} {(ushort)error.CloseStatus}", false, 0);

    /// <summary>Short payloads in full; long ones by length, prefix and digest.</summary>
    public static string Describe(ReadOnlySpan<byte> payload) => payload.Length <= 48
        ? $"{payload.Length}:{Convert.ToHexString(payload)}"
        : $"{payload.Length}:{Convert.ToHexString(payload[..16])}..{Convert.ToHexString(SHA256.HashData(payload))[..16]}";
}

/// <summary>A unit exactly as <see cref="WebSocketFrameReader.Read"/> handed it out, payload copied.</summary>
internal sealed record ReadPiece(FrameReadStatus Status, WebSocketOpcode Opcode, byte[] Payload, bool IsMessageStart, bool IsMessageEnd, bool IsFrameEnd, bool IsCompressed);

/// <summary>A segment of a hand-built multi-segment <see cref="ReadOnlySequence{T}"/>.</summary>
internal sealed class BufferSegment : ReadOnlySequenceSegment<byte>
{
    public BufferSegment(ReadOnlyMemory<byte> memory) => Memory = memory;

    public BufferSegment Append(ReadOnlyMemory<byte> memory)
    {
        var next = new BufferSegment(memory) { RunningIndex = RunningIndex + Memory.Length };
        Next = next;
        return next;
    }

    /// <summary>A sequence with one segment per memory block, in order (empty blocks included).</summary>
    public static ReadOnlySequence<byte> Sequence(IReadOnlyList<ReadOnlyMemory<byte>> blocks)
    {
        if (blocks.Count == 0)
        {
            return ReadOnlySequence<byte>.Empty;
        }

        if (blocks.Count == 1)
        {
            return new ReadOnlySequence<byte>(blocks[0]);
        }

        var first = new BufferSegment(blocks[0]);
        var last = first;
        for (var i = 1; i < blocks.Count; i++)
        {
            last = last.Append(blocks[i]);
        }

        return new ReadOnlySequence<byte>(first, 0, last, last.Memory.Length);
    }
}

/// <summary>
/// Drives a <see cref="WebSocketFrameReader"/> the way a connection reads a pipe: bytes arrive in feeds, each feed
/// is appended (as fresh memory, because the reader unmasks in place) behind whatever the reader left unconsumed,
/// and the reader is called until it needs more data or fails. It reassembles messages into
/// <see cref="ReaderEvent"/>s and checks on every call what must hold for any input:
/// no exception, the buffer handed back is a suffix of the one given (nothing read past it), a payload lies within
/// the bytes consumed by its call, every unit consumes at least one byte (so reading terminates), bytes fed equal
/// bytes consumed plus bytes still buffered, piece flags are consistent, and a failed reader stays failed.
/// </summary>
internal sealed class ReaderHarness
{
    private readonly List<ReadOnlyMemory<byte>> _pending = [];
    private readonly List<ReaderEvent> _events = [];
    private readonly List<ReadPiece> _pieces = [];
    private readonly List<byte> _message = [];
    private WebSocketOpcode _messageOpcode;
    private bool _messageCompressed;
    private int _messageFrames;
    private bool _inMessage;

    public ReaderHarness(WebSocketRole role, FrameReaderOptions? options = null) =>
        Reader = new WebSocketFrameReader(role, options ?? new FrameReaderOptions());

    public WebSocketFrameReader Reader { get; }

    /// <summary>Messages, control frames and the error, in the order the reader produced them.</summary>
    public IReadOnlyList<ReaderEvent> Events => _events;

    /// <summary>Every unit the reader handed out, in order.</summary>
    public IReadOnlyList<ReadPiece> Pieces => _pieces;

    /// <summary>The error that failed the reader, if any.</summary>
    public ProtocolError? Error { get; private set; }

    /// <summary>The status of the last call to <see cref="WebSocketFrameReader.Read"/>.</summary>
    public FrameReadStatus LastStatus { get; private set; } = FrameReadStatus.NeedMoreData;

    public long Fed { get; private set; }

    public long Consumed { get; private set; }

    public long Buffered => _pending.Sum(m => (long)m.Length);

    /// <summary>The payload of the data message in progress, delivered so far.</summary>
    public byte[] PartialMessage => [.. _message];

    /// <summary>What a connection would know at the end: the error, or how far the unfinished input got.</summary>
    public string Final => Error is { } error
        ? $"Error {error.Name} {(ushort)error.CloseStatus}"
        : $"{LastStatus} inMessage={_inMessage} partial={ReaderEvent.Describe(PartialMessage)} buffered={Buffered}";

    /// <summary>Feeds the whole stream at once, as one segment.</summary>
    public static ReaderHarness Run(WebSocketRole role, FrameReaderOptions? options, byte[] stream) =>
        Run(role, options, [[stream]]);

    /// <summary>Feeds each element of <paramref name="feeds"/> in turn (each a list of segments); stops at the first error.</summary>
    public static ReaderHarness Run(WebSocketRole role, FrameReaderOptions? options, IEnumerable<IReadOnlyList<byte[]>> feeds)
    {
        var harness = new ReaderHarness(role, options);
        foreach (var feed in feeds)
        {
            if (harness.Feed(feed) == FrameReadStatus.Error)
            {
                break;
            }
        }

        return harness;
    }

    /// <summary>Appends <paramref name="bytes"/> as one new segment and reads.</summary>
    public FrameReadStatus Feed(ReadOnlySpan<byte> bytes) => Feed([bytes.ToArray()]);

    /// <summary>Appends each array as a new segment (a copy: the reader writes to what it is given) and reads.</summary>
    public FrameReadStatus Feed(IReadOnlyList<byte[]> segments)
    {
        foreach (var segment in segments)
        {
            _pending.Add(segment.AsSpan().ToArray());
            Fed += segment.Length;
        }

        var buffer = BufferSegment.Sequence(_pending);
        FrameReadStatus status;
        var reads = 0;
        do
        {
            var before = buffer;
            status = Reader.Read(ref buffer, out var piece, out var error);
            LastStatus = status;

            // The reader returns slices: what it hands back is the unconsumed tail of what it was given.
            // (Plain checks on this path: it runs once per byte in the one-byte-at-a-time tests.)
            Check(buffer.Length <= before.Length && before.End.Equals(buffer.End), "the reader handed back something other than a tail of its buffer");
            var consumed = before.Length - buffer.Length;
            Consumed += consumed;

            if (Error is { } earlier)
            {
                // RFC 6455 section 7.1.7 (R6455-7.1.7-c): after failing, no more input is processed.
                Assert.Equal(FrameReadStatus.Error, status);
                Assert.Equal(0, consumed);
                Assert.Equal(Errors.ReaderFailed, error);
                Assert.NotEqual(Errors.ReaderFailed, earlier);
                break;
            }

            switch (status)
            {
                case FrameReadStatus.MessagePayload:
                case FrameReadStatus.ControlFrame:
                    Check(consumed > 0, "a unit was handed out without consuming input: the reader could spin");
                    var offset = before.Slice(before.Start, piece.Payload.Start).Length;
                    Check(offset + piece.Payload.Length <= consumed, "the payload lies outside the bytes consumed for it");
                    Record(status, piece);
                    break;
                case FrameReadStatus.Error:
                    Assert.True(error.CloseStatus is WebSocketCloseStatus.ProtocolError or WebSocketCloseStatus.InvalidPayloadData or WebSocketCloseStatus.MessageTooBig, $"unexpected close code in {error}");
                    Assert.False(string.IsNullOrEmpty(error.Name));
                    Assert.True(System.Text.Encoding.UTF8.GetByteCount(error.Reason) <= ClosePayload.MaxReasonBytes);
                    Error = error;
                    _events.Add(ReaderEvent.Failure(error));
                    break;
                case FrameReadStatus.NeedMoreData:
                    break;
                default:
                    Assert.Fail($"unknown status {status}");
                    break;
            }

            Check(++reads <= 10_000_000, "the reader does not terminate");
        }
        while (status is FrameReadStatus.MessagePayload or FrameReadStatus.ControlFrame);

        Check(Fed == Consumed + buffer.Length, "bytes fed differ from bytes consumed plus bytes left");
        // Keep what the reader left, as a pipe does. Fed a byte at a time, that can grow to a chain of 1-byte segments
        // as long as a control frame; past a few segments it is merged into one fresh block (those bytes were not
        // consumed, so the reader has not written to them) to keep the cost linear.
        _pending.Clear();
        if (buffer.IsSingleSegment || buffer.Length == 0 || CountSegments(buffer) <= 8)
        {
            foreach (var memory in buffer)
            {
                _pending.Add(memory);
            }
        }
        else
        {
            _pending.Add(buffer.ToArray());
        }

        return status;
    }

    private void Record(FrameReadStatus status, in FrameSegment piece)
    {
        var payload = piece.Payload.ToArray();
        _pieces.Add(new ReadPiece(status, piece.Opcode, payload, piece.IsMessageStart, piece.IsMessageEnd, piece.IsFrameEnd, piece.IsCompressed));
        if (status == FrameReadStatus.ControlFrame)
        {
            Check(piece.Opcode is WebSocketOpcode.Close or WebSocketOpcode.Ping or WebSocketOpcode.Pong, "control frame with a data opcode");
            Check(piece.IsWholeMessage && piece.IsFrameEnd && !piece.IsCompressed, "control frame not handed out whole");
            Check(payload.Length <= 125, "control frame payload over 125 bytes");
            _events.Add(ReaderEvent.Control(piece.Opcode, payload));
            return;
        }

        Check(piece.Opcode is WebSocketOpcode.Text or WebSocketOpcode.Binary, "data piece whose opcode is not text or binary");
        if (piece.IsMessageStart)
        {
            Check(!_inMessage, "a message started while another was in progress");
            _inMessage = true;
            _messageOpcode = piece.Opcode;
            _messageCompressed = piece.IsCompressed;
            _messageFrames = 0;
            _message.Clear();
        }
        else
        {
            Check(_inMessage, "a piece continued a message that never started");
            Check(_messageOpcode == piece.Opcode && _messageCompressed == piece.IsCompressed, "a piece changed its message's type or compression");
        }

        _message.AddRange(payload);
        if (piece.IsFrameEnd)
        {
            _messageFrames++;
        }

        if (piece.IsMessageEnd)
        {
            Check(piece.IsFrameEnd, "a message ended in the middle of a frame");
            _events.Add(ReaderEvent.Message(_messageOpcode, _message.ToArray(), _messageCompressed, _messageFrames));
            _message.Clear();
            _inMessage = false;
        }

        Check(_inMessage == Reader.IsInMessage, "IsInMessage disagrees with the pieces handed out");
    }

    private static int CountSegments(in ReadOnlySequence<byte> buffer)
    {
        var count = 0;
        foreach (var unused in buffer)
        {
            count++;
        }

        return count;
    }

    private static void Check(bool condition, string failure)
    {
        if (!condition)
        {
            Assert.Fail(failure);
        }
    }
}

/// <summary>Ways to cut a byte stream into feeds, each feed a list of segments.</summary>
internal static class Feeds
{
    public static IEnumerable<IReadOnlyList<byte[]>> Whole(byte[] stream) => [[stream]];

    public static IEnumerable<IReadOnlyList<byte[]>> SplitAt(byte[] stream, int index) =>
        [[stream[..index]], [stream[index..]]];

    public static IEnumerable<IReadOnlyList<byte[]>> OneByteAtATime(byte[] stream) =>
        stream.Select(b => (IReadOnlyList<byte[]>)[[b]]);

    /// <summary>
    /// Random feed sizes (mostly small, sometimes large), each feed itself cut into 1-4 segments, empty ones
    /// included: the shapes a pipe's multi-segment buffers take, and some it would not bother to make.
    /// </summary>
    public static List<IReadOnlyList<byte[]>> Random(byte[] stream, Random random)
    {
        var feeds = new List<IReadOnlyList<byte[]>>();
        var position = 0;
        while (position < stream.Length)
        {
            var remaining = stream.Length - position;
            var size = random.Next(4) switch
            {
                0 => 1,
                1 => random.Next(1, 16),
                2 => random.Next(1, 200),
                _ => random.Next(1, remaining + 1),
            };
            size = Math.Min(size, remaining);
            var feed = stream.AsSpan(position, size);
            var segments = new List<byte[]>();
            var pieces = random.Next(1, 5);
            for (var i = 0; i < pieces - 1; i++)
            {
                var cut = random.Next(feed.Length + 1);
                segments.Add(feed[..cut].ToArray());
                feed = feed[cut..];
            }

            segments.Add(feed.ToArray());
            feeds.Add(segments);
            position += size;
        }

        return feeds;
    }
}
