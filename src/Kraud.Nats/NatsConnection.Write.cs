using System.Diagnostics;
using System.Threading.Channels;
using Kraud.Nats.Internal;

namespace Kraud.Nats;

public sealed partial class NatsConnection
{
    // Commands are encoded under _lock into _pending; one writer loop per session swaps it with _spare
    // and sends it whole, so many small publishes leave in one socket write. While disconnected
    // _pending is the bounded reconnect buffer.
    private readonly object _lock = new();
    private CommandBuffer _pending = new();
    private CommandBuffer _spare = new();
    private volatile int _pendingLength;
    private Session? _session;
    private Exception? _closedError;
    // One writer loop reads the signal at a time (a new session's loop starts after the old one ended).
    private readonly Channel<byte> _writeSignal = Channel.CreateBounded<byte>(new BoundedChannelOptions(1) { FullMode = BoundedChannelFullMode.DropWrite, SingleReader = true });
    private TaskCompletionSource? _drained; // made only when a publisher waits for the writer

    private void SignalWriter() => _writeSignal.Writer.TryWrite(0);

    private int _writerBusy; // 1 while the loop or an inline flush owns the socket write side and _spare

    private bool TryTakeWriter() => Interlocked.CompareExchange(ref _writerBusy, 1, 0) == 0;

    private void ReleaseWriter()
    {
        Volatile.Write(ref _writerBusy, 0);
        if (Volatile.Read(ref _drained) is not null) Interlocked.Exchange(ref _drained, null)?.TrySetResult();
    }

    /// <summary>Takes what is queued (swap with the spare buffer); null when nothing is or the session is gone.</summary>
    private CommandBuffer? TakePending(Session s)
    {
        lock (_lock)
        {
            if (_session != s || _pending.Length == 0) return null;
            var buf = _pending;
            _pending = _spare;
            _spare = buf;
            _pendingLength = 0;
            return buf;
        }
    }

    private async Task WriteLoopAsync(Session s)
    {
        await s.Started.ConfigureAwait(false);
        var signal = _writeSignal.Reader;
        try
        {
            while (!s.Failed)
            {
                CommandBuffer? buf = null;
                if (TryTakeWriter())
                {
                    buf = TakePending(s);
                    if (buf is null) ReleaseWriter();
                }
                if (buf is null)
                {
                    // Idle, or an inline flush is writing (it signals when done).
                    await signal.WaitToReadAsync(s.Token).ConfigureAwait(false);
                    signal.TryRead(out _);
                    continue;
                }
                try
                {
                    await s.Stream.WriteAsync(buf.Written, s.Token).ConfigureAwait(false);
                    await s.Stream.FlushAsync(s.Token).ConfigureAwait(false);
                }
                finally
                {
                    buf.Reset();
                    ReleaseWriter();
                }
            }
        }
        catch (Exception ex)
        {
            FailSession(s, ex);
        }
    }

    /// <summary>
    /// Writes the queue on the caller's thread when the writer is idle (requests: saves a thread hop of
    /// latency); the socket write usually completes synchronously. Otherwise the loop is signalled.
    /// </summary>
    private void FlushInline()
    {
        var s = Volatile.Read(ref _session);
        if (s is null) return;
        if (!TryTakeWriter())
        {
            SignalWriter();
            return;
        }
        var buf = TakePending(s);
        if (buf is null)
        {
            ReleaseWriter();
            if (_pendingLength > 0) SignalWriter();
            return;
        }
        ValueTask write;
        try
        {
            write = s.Stream.WriteAsync(buf.Written, s.Token);
        }
        catch (Exception ex)
        {
            buf.Reset();
            ReleaseWriter();
            FailSession(s, ex);
            return;
        }
        if (write.IsCompletedSuccessfully)
        {
            write.GetAwaiter().GetResult();
            buf.Reset();
            ReleaseWriter();
            if (_pendingLength > 0) SignalWriter();
            return;
        }
        _ = FinishInlineAsync(write, buf, s);
    }

    private async Task FinishInlineAsync(ValueTask write, CommandBuffer buf, Session s)
    {
        try
        {
            await write.ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            FailSession(s, ex);
        }
        finally
        {
            buf.Reset();
            ReleaseWriter();
            SignalWriter();
        }
    }

    /// <summary>Before a new session takes the buffers: an inline write of the old one may still be failing.</summary>
    private async Task WaitWriterIdleAsync()
    {
        while (Volatile.Read(ref _writerBusy) != 0) await Task.Delay(1).ConfigureAwait(false);
    }

    /// <summary>Encodes a publish; checks max_payload and the reconnect buffer bound first.</summary>
    private void EnqueuePublish(string subject, string? replyTo, NatsHeaders? headers, ReadOnlySpan<byte> data, bool flushInline = false)
    {
        ProtocolEncoder.ValidateSubject(subject);
        if (replyTo is not null) ProtocolEncoder.ValidateSubject(replyTo);
        var headerLength = headers?.WireLength ?? 0;
        var size = (long)headerLength + data.Length;
        var info = _serverInfo;
        if (info is { MaxPayload: > 0 } && size > info.MaxPayload) throw new NatsPayloadTooLargeException(subject, size, info.MaxPayload);
        lock (_lock)
        {
            if (_closedError is not null || _disposed) throw new NatsConnectionClosedException($"connection is closed: {_closedError?.Message ?? "disposed"}");
            if (_session is null && _pending.Length + size + subject.Length + 64 > Opts.ReconnectBufferSize)
                throw new NatsException($"disconnected and the reconnect buffer ({Opts.ReconnectBufferSize} bytes) is full");
            ProtocolEncoder.Pub(_pending, subject, replyTo, headers, headerLength, data);
            _pendingLength = _pending.Length;
        }
        if (flushInline) FlushInline();
        else SignalWriter();
    }

    /// <summary>Publishes a message (queued for the socket; buffered while reconnecting).</summary>
    public ValueTask PublishAsync(string subject, ReadOnlyMemory<byte> data = default, NatsHeaders? headers = null, string? replyTo = null, CancellationToken cancellationToken = default)
    {
        if (_state == NatsConnectionState.Closed) return PublishAfterConnectAsync(subject, data, headers, replyTo, cancellationToken);
        EnqueuePublish(subject, replyTo, headers, data.Span);
        return _pendingLength > Opts.WriterHighWater ? WaitDrainedAsync(cancellationToken) : default;
    }

    private async ValueTask PublishAfterConnectAsync(string subject, ReadOnlyMemory<byte> data, NatsHeaders? headers, string? replyTo, CancellationToken cancellationToken)
    {
        await EnsureConnectedAsync(cancellationToken).ConfigureAwait(false);
        EnqueuePublish(subject, replyTo, headers, data.Span);
    }

    private async ValueTask WaitDrainedAsync(CancellationToken cancellationToken)
    {
        while (_pendingLength > Opts.WriterHighWater && Volatile.Read(ref _session) is not null)
        {
            var drained = Volatile.Read(ref _drained);
            if (drained is null)
            {
                var fresh = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                drained = Interlocked.CompareExchange(ref _drained, fresh, null) ?? fresh;
            }
            if (_pendingLength <= Opts.WriterHighWater) break;
            // Re-check now and then: the session may have gone, and then the buffer bound applies instead.
            try { await drained.Task.WaitAsync(TimeSpan.FromMilliseconds(100), cancellationToken).ConfigureAwait(false); }
            catch (TimeoutException) { }
        }
    }

    /// <summary>Queues a publish without waiting for the writer (internal control traffic: pulls, acks of unread messages).</summary>
    internal void PublishNoWait(string subject, ReadOnlySpan<byte> data, string? replyTo) => EnqueuePublish(subject, replyTo, null, data);

    /// <summary>Round trip to the server (PING/PONG); everything published before it has been processed when it returns.</summary>
    public async ValueTask<TimeSpan> PingAsync(CancellationToken cancellationToken = default)
    {
        await EnsureConnectedAsync(cancellationToken).ConfigureAwait(false);
        return await PingCoreAsync(cancellationToken).ConfigureAwait(false);
    }

    private async ValueTask<TimeSpan> PingCoreAsync(CancellationToken cancellationToken)
    {
        var waiter = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        lock (_lock)
        {
            var s = _session ?? throw new NatsException("not connected");
            s.Pongs.Enqueue(waiter);
            ProtocolEncoder.Ping(_pending);
            _pendingLength = _pending.Length;
        }
        SignalWriter();
        var sw = Stopwatch.StartNew();
        try
        {
            await waiter.Task.WaitAsync(Opts.CommandTimeout, cancellationToken).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            throw new NatsException($"no PONG within {Opts.CommandTimeout.TotalMilliseconds:0} ms");
        }
        return sw.Elapsed;
    }

    internal void AddSub(NatsSubBase sub)
    {
        sub.Sid = Interlocked.Increment(ref _nextSid);
        lock (_lock)
        {
            if (_closedError is not null || _disposed) throw new NatsConnectionClosedException("connection is closed");
            _subs[sub.Sid] = sub;
            if (_session is not null)
            {
                ProtocolEncoder.Sub(_pending, sub.Subject, sub.QueueGroup, sub.Sid);
                _pendingLength = _pending.Length;
            }
        }
        SignalWriter();
    }

    internal void RemoveSub(NatsSubBase sub)
    {
        lock (_lock)
        {
            if (!_subs.TryRemove(sub.Sid, out _)) return;
            if (_session is not null)
            {
                ProtocolEncoder.Unsub(_pending, sub.Sid);
                _pendingLength = _pending.Length;
            }
        }
        SignalWriter();
    }
}
