using System.Threading.Channels;
using Kraud.Nats.JetStream;
using Kraud.Nats.JetStream.Models;
using Microsoft.Extensions.Logging;

namespace Kraud.Nats.KeyValue.Internal;

/// <summary>
/// An ordered push consumer (ADR-17) feeding KV entries: ephemeral, ack none, flow control, heartbeats.
/// On a consumer-sequence gap, three missed heartbeats or a reconnect it drops the consumer and makes a new
/// one from the last stream sequence seen + 1, on a fresh inbox, so nothing is lost or repeated.
/// </summary>
internal sealed class KVWatch : IAsyncDisposable
{
    private readonly NatsJSContext _js;
    private readonly NatsKVStore _store;
    private readonly string _filter;
    private readonly NatsKVWatchOpts _opts;
    private readonly Channel<NatsKVEntry> _entries = Channel.CreateUnbounded<NatsKVEntry>(new UnboundedChannelOptions { SingleWriter = true });
    private readonly CancellationTokenSource _stop = new();
    private readonly SemaphoreSlim _resetLock = new(1, 1);
    private readonly object _gate = new();
    private WatchSub? _sub;
    private string? _consumer;
    private int _generation;
    private ulong _lastStreamSeq;
    private ulong _lastConsumerSeq;
    private long _lastActivity = Environment.TickCount64;
    private bool _initialDone;

    public KVWatch(NatsJSContext js, NatsKVStore store, string key, NatsKVWatchOpts opts)
    {
        NatsKVStore.ValidateKey(key, allowWildcards: true);
        _js = js;
        _store = store;
        _filter = store.Subject(key);
        _opts = opts;
    }

    public ChannelReader<NatsKVEntry> Entries => _entries.Reader;

    private NatsConnection Connection => _js.Connection;

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        await CreateConsumerAsync(cancellationToken).ConfigureAwait(false);
        Connection.Reconnected += OnReconnected;
        _ = Task.Run(MonitorAsync);
    }

    private async Task CreateConsumerAsync(CancellationToken cancellationToken)
    {
        int gen;
        ulong resumeFrom;
        lock (_gate)
        {
            gen = ++_generation;
            resumeFrom = _lastStreamSeq;
            _lastConsumerSeq = 0;
        }
        var sub = new WatchSub(this, gen, Connection.NewInbox());
        await Connection.SubscribeInternalAsync(sub, cancellationToken).ConfigureAwait(false);
        var old = Interlocked.Exchange(ref _sub, sub);
        if (old is not null) await old.UnsubscribeAsync().ConfigureAwait(false);

        var config = new ConsumerConfig
        {
            DeliverSubject = sub.Subject,
            FilterSubject = _filter,
            AckPolicy = ConsumerConfigAckPolicy.None,
            MaxDeliver = 1,
            FlowControl = true,
            IdleHeartbeat = _opts.IdleHeartbeat,
            MemStorage = true,
            NumReplicas = 1,
            HeadersOnly = _opts.MetaOnly,
            ReplayPolicy = ConsumerConfigReplayPolicy.Instant,
            InactiveThreshold = TimeSpan.FromSeconds(30),
        };
        if (resumeFrom > 0) config = config with { DeliverPolicy = ConsumerConfigDeliverPolicy.ByStartSequence, OptStartSeq = resumeFrom + 1 };
        else if (_opts.ResumeAtRevision is { } rev) config = config with { DeliverPolicy = ConsumerConfigDeliverPolicy.ByStartSequence, OptStartSeq = rev };
        else if (_opts.UpdatesOnly) config = config with { DeliverPolicy = ConsumerConfigDeliverPolicy.New };
        else if (_opts.IncludeHistory) config = config with { DeliverPolicy = ConsumerConfigDeliverPolicy.All };
        else config = config with { DeliverPolicy = ConsumerConfigDeliverPolicy.LastPerSubject };

        var consumer = await _js.CreateOrUpdateConsumerAsync(_store.StreamName, config, cancellationToken).ConfigureAwait(false);
        var previous = Interlocked.Exchange(ref _consumer, consumer.Name);
        if (previous is not null) _ = DeleteQuietlyAsync(previous);
        Volatile.Write(ref _lastActivity, Environment.TickCount64);
        if (consumer.Info.NumPending == 0 || _opts.UpdatesOnly) InitialDone();
    }

    private void InitialDone()
    {
        lock (_gate)
        {
            if (_initialDone) return;
            _initialDone = true;
        }
        if (_opts.StopAfterInitial) _entries.Writer.TryComplete();
    }

    private async Task DeleteQuietlyAsync(string consumer)
    {
        try { await _js.DeleteConsumerAsync(_store.StreamName, consumer).ConfigureAwait(false); }
        catch (NatsException) { } // ephemeral: it goes away by itself once its inbox has no interest
    }

    internal void OnMessage(int gen, NatsMsg msg)
    {
        lock (_gate)
        {
            if (gen != _generation) return;
        }
        Volatile.Write(ref _lastActivity, Environment.TickCount64);
        if (msg.Headers is { Code: 100 } status)
        {
            // Flow control request: answer on its reply. Heartbeat: answer a stall, check for a gap.
            if (msg.ReplyTo is not null) { Answer(msg.ReplyTo); return; }
            if (status.TryGetValue("Nats-Consumer-Stalled", out var stalled)) Answer(stalled);
            if (status.TryGetValue("Nats-Last-Consumer", out var lc) && ulong.TryParse(lc, out var lastConsumer) && lastConsumer != Volatile.Read(ref _lastConsumerSeq))
                _ = Task.Run(() => Reset($"heartbeat says consumer sequence {lastConsumer}, we saw {_lastConsumerSeq}"));
            return;
        }
        if (msg.HasStatus) return;
        var md = NatsJSMsgMetadata.Parse(msg.ReplyTo);
        if (md is null) return;
        var m = md.Value;
        lock (_gate)
        {
            if (m.Sequence.Consumer != _lastConsumerSeq + 1)
            {
                _ = Task.Run(() => Reset($"gap: consumer sequence {m.Sequence.Consumer} after {_lastConsumerSeq}"));
                return;
            }
            _lastConsumerSeq = m.Sequence.Consumer;
            _lastStreamSeq = m.Sequence.Stream;
        }
        var key = msg.Subject.Length > _store.Subject("").Length ? msg.Subject[_store.Subject("").Length..] : msg.Subject;
        _entries.Writer.TryWrite(new NatsKVEntry
        {
            Bucket = _store.Bucket,
            Key = key,
            Value = msg.Data,
            Revision = m.Sequence.Stream,
            Delta = m.NumPending,
            Created = m.Timestamp,
            Operation = NatsKVStore.OperationOf(msg.Headers),
        });
        if (m.NumPending == 0) InitialDone();
    }

    private void Answer(string subject)
    {
        try { Connection.PublishNoWait(subject, default, null); }
        catch (NatsException) { }
    }

    private void OnReconnected() => _ = Task.Run(() => Reset("reconnected"));

    /// <summary>Recreates the consumer from the last sequence seen; retries until it works or the watch ends.</summary>
    private async Task Reset(string why)
    {
        if (_stop.IsCancellationRequested) return;
        if (!await _resetLock.WaitAsync(0).ConfigureAwait(false)) return; // one reset at a time is enough
        try
        {
            Connection.Opts.LoggerFactory.CreateLogger("Kraud.Nats").LogDebug("KV watch on {Filter} reset: {Why}", _filter, why);
            while (!_stop.IsCancellationRequested)
            {
                try
                {
                    await CreateConsumerAsync(_stop.Token).ConfigureAwait(false);
                    return;
                }
                catch (Exception e) when (e is NatsException or OperationCanceledException)
                {
                    if (_stop.IsCancellationRequested) return;
                    await Task.Delay(500, _stop.Token).ConfigureAwait(false);
                }
            }
        }
        catch (OperationCanceledException) { }
        finally
        {
            _resetLock.Release();
        }
    }

    private async Task MonitorAsync()
    {
        using var timer = new PeriodicTimer(TimeSpan.FromMilliseconds(Math.Min(1000, _opts.IdleHeartbeat.TotalMilliseconds)));
        try
        {
            while (await timer.WaitForNextTickAsync(_stop.Token).ConfigureAwait(false))
            {
                if (Connection.ConnectionState != NatsConnectionState.Open)
                {
                    Volatile.Write(ref _lastActivity, Environment.TickCount64);
                    continue;
                }
                if (Environment.TickCount64 - Volatile.Read(ref _lastActivity) > 3 * _opts.IdleHeartbeat.TotalMilliseconds)
                {
                    Volatile.Write(ref _lastActivity, Environment.TickCount64);
                    await Reset("missed heartbeats").ConfigureAwait(false);
                }
            }
        }
        catch (OperationCanceledException) { }
    }

    public async ValueTask DisposeAsync()
    {
        if (_stop.IsCancellationRequested) return;
        _stop.Cancel();
        Connection.Reconnected -= OnReconnected;
        _entries.Writer.TryComplete();
        var sub = Interlocked.Exchange(ref _sub, null);
        if (sub is not null) await sub.UnsubscribeAsync().ConfigureAwait(false);
        var consumer = Interlocked.Exchange(ref _consumer, null);
        if (consumer is not null && Connection.ConnectionState == NatsConnectionState.Open) _ = DeleteQuietlyAsync(consumer);
    }

    /// <summary>The deliver-subject subscription of one consumer generation.</summary>
    private sealed class WatchSub(KVWatch owner, int generation, string inbox) : NatsSubBase(owner.Connection, inbox, null)
    {
        internal override void Receive(ReadOnlySpan<byte> subject, ReadOnlySpan<byte> replyTo, ReadOnlySpan<byte> headers, ReadOnlySpan<byte> payload, int size) =>
            owner.OnMessage(generation, Materialize(subject, replyTo, headers, payload, size));
    }
}
