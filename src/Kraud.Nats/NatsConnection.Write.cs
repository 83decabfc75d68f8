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

    private async Task WriteLoopAsync(Session s)
    {
        await s.Started.ConfigureAwait(false);
        var signal = _writeSignal.Reader;
        try
        {
            while (!s.Failed)
            {
                CommandBuffer? buf = null;
                lock (_lock)
                {
                    if (_session != s) return;
                    if (_pending.Length > 0)
                    {
                        buf = _pending;
                        _pending = _spare;
                        _spare = buf;
                        _pendingLength = 0;
                    }
                }
                if (buf is null)
                {
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
                }
                if (Volatile.Read(ref _drained) is not null) Interlocked.Exchange(ref _drained, null)?.TrySetResult();
            }
        }
        catch (Exception ex)
        {
            FailSession(s, ex);
        }
    }

    /// <summary>Encodes a publish; checks max_payload and the reconnect buffer bound first.</summary>
    private void EnqueuePublish(string subject, string? replyTo, NatsHeaders? headers, ReadOnlySpan<byte> data)
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
        SignalWriter();
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
