using System.Buffers;
using System.Net.Sockets;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Threading.Tasks.Sources;

namespace Shockwave.Transport;

/// <summary>
/// Sends everything one flush left in the output pipe with one system call: a single block as it is, several as one
/// gather list (<c>sendmsg</c>). Taken from the listener's <see cref="SocketSenderPool"/> for one send and given back,
/// so sending allocates nothing and an idle connection holds no sender.
/// </summary>
internal sealed class SocketSender : SocketAsyncEventArgs, IValueTaskSource<int>
{
    // Linux accepts at most 1,024 iovecs per sendmsg (IOV_MAX); a longer sequence goes out in several calls.
    private const int MaxSegmentsPerSend = 512;

    // Made on the first send of more than one block: most connections (idle ones, small echoes) never need it.
    private List<ArraySegment<byte>>? _segments;
    private ManualResetValueTaskSourceCore<int> _completion;

    public SocketSender()
        : base(unsafeSuppressExecutionContextFlow: true)
    {
        _completion.RunContinuationsAsynchronously = false;
    }

    /// <summary>Sends all of <paramref name="buffers"/>; returns when the kernel has taken every byte.</summary>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder))]
    public async ValueTask SendAsync(Socket socket, ReadOnlySequence<byte> buffers)
    {
        if (buffers.IsSingleSegment)
        {
            UseSingleBuffer(buffers.First);
            await SendOnceAsync(socket).ConfigureAwait(false);
            return;
        }

        var position = buffers.Start;
        _segments ??= new List<ArraySegment<byte>>(capacity: 8);
        while (true)
        {
            _segments.Clear();
            while (_segments.Count < MaxSegmentsPerSend && buffers.TryGet(ref position, out var memory))
            {
                if (memory.IsEmpty)
                {
                    continue;
                }

                if (!MemoryMarshal.TryGetArray(memory, out var segment))
                {
                    // Only array-backed blocks come from the transport's and the runtime's pools; anything else is sent
                    // on its own.
                    await FlushSegmentsAsync(socket).ConfigureAwait(false);
                    UseSingleBuffer(memory);
                    await SendOnceAsync(socket).ConfigureAwait(false);
                    continue;
                }

                _segments.Add(segment);
            }

            if (_segments.Count == 0)
            {
                return;
            }

            await FlushSegmentsAsync(socket).ConfigureAwait(false);
        }
    }

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder))]
    private async ValueTask FlushSegmentsAsync(Socket socket)
    {
        if (_segments is null || _segments.Count == 0)
        {
            return;
        }

        if (MemoryBuffer.Length != 0)
        {
            SetBuffer(null, 0, 0);
        }

        BufferList = _segments;
        await SendOnceAsync(socket).ConfigureAwait(false);
        _segments.Clear();
    }

    /// <summary>Lets go of the last send's blocks before the sender goes back to its pool.</summary>
    public void Reset()
    {
        if (BufferList is not null)
        {
            BufferList = null;
            _segments?.Clear();
        }
        else if (MemoryBuffer.Length != 0)
        {
            SetBuffer(null, 0, 0);
        }
    }

    private void UseSingleBuffer(ReadOnlyMemory<byte> buffer)
    {
        if (BufferList is not null)
        {
            BufferList = null;
        }

        SetBuffer(MemoryMarshal.AsMemory(buffer));
    }

    private ValueTask<int> SendOnceAsync(Socket socket)
    {
        _completion.Reset();
        if (socket.SendAsync(this))
        {
            return new ValueTask<int>(this, _completion.Version);
        }

        return SocketError == SocketError.Success
            ? new ValueTask<int>(BytesTransferred)
            : ValueTask.FromException<int>(new SocketException((int)SocketError));
    }

    protected override void OnCompleted(SocketAsyncEventArgs e)
    {
        if (SocketError == SocketError.Success)
        {
            _completion.SetResult(BytesTransferred);
        }
        else
        {
            _completion.SetException(new SocketException((int)SocketError));
        }
    }

    int IValueTaskSource<int>.GetResult(short token) => _completion.GetResult(token);

    ValueTaskSourceStatus IValueTaskSource<int>.GetStatus(short token) => _completion.GetStatus(token);

    void IValueTaskSource<int>.OnCompleted(Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags) =>
        _completion.OnCompleted(continuation, state, token, flags);
}
