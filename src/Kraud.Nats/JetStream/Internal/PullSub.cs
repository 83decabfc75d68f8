using System.Globalization;
using System.Text.Json;
using System.Threading.Channels;
using Kraud.Nats.Internal;
using Kraud.Nats.JetStream.Models;

namespace Kraud.Nats.JetStream.Internal;

/// <summary>
/// One pull loop on its own inbox: sends MSG.NEXT requests, hands data messages to <see cref="Msgs"/>,
/// swallows status messages (100 heartbeat, 404/408 end of request, 409 limits), re-issues the request
/// after a reconnect or two missed heartbeats. Fetch mode ends after one request; consume mode keeps
/// <c>maxMsgs</c> requested, pulling more at the threshold.
/// </summary>
internal sealed class PullSub : NatsSubBase
{
    private readonly NatsJSContext _js;
    private readonly string _nextSubject;
    private readonly bool _consume;
    private readonly int _maxMsgs;
    private readonly int _threshold;
    private readonly long? _maxBytes;
    private readonly bool _noWait;
    private readonly TimeSpan _expires;
    private readonly TimeSpan _heartbeat;
    private readonly Action<NatsJSNotification>? _notify;
    private readonly Channel<NatsJSMsg> _channel = Channel.CreateUnbounded<NatsJSMsg>(new UnboundedChannelOptions { SingleWriter = true });
    private readonly CancellationTokenSource _stop = new();
    private readonly object _gate = new();
    private readonly DateTime _fetchDeadline;
    private int _pending;
    private int _received;
    private long _lastActivity = Environment.TickCount64;
    private bool _done;

    private PullSub(NatsJSContext js, string stream, string consumer, bool consume, int maxMsgs, int threshold, long? maxBytes, bool noWait,
        TimeSpan expires, TimeSpan? heartbeat, Action<NatsJSNotification>? notify)
        : base(js.Connection, js.Connection.NewInbox(), null)
    {
        _js = js;
        _nextSubject = js.Api($"CONSUMER.MSG.NEXT.{stream}.{consumer}");
        _consume = consume;
        _maxMsgs = Math.Max(1, maxMsgs);
        _threshold = threshold;
        _maxBytes = maxBytes;
        _noWait = noWait;
        _expires = expires < TimeSpan.FromSeconds(1) && !noWait ? TimeSpan.FromSeconds(1) : expires;
        _heartbeat = heartbeat ?? (_expires >= TimeSpan.FromSeconds(2) ? TimeSpan.FromTicks(Math.Min(_expires.Ticks / 2, TimeSpan.FromSeconds(30).Ticks)) : TimeSpan.Zero);
        if (_heartbeat * 2 > _expires) _heartbeat = TimeSpan.Zero;
        _notify = notify;
        _fetchDeadline = DateTime.UtcNow + _expires + TimeSpan.FromSeconds(2);
    }

    public static PullSub ForFetch(NatsJSContext js, string stream, string consumer, NatsJSFetchOpts o) =>
        new(js, stream, consumer, false, o.MaxMsgs, 0, o.MaxBytes, o.NoWait, o.Expires, o.IdleHeartbeat, o.NotificationHandler);

    public static PullSub ForConsume(NatsJSContext js, string stream, string consumer, NatsJSConsumeOpts o) =>
        new(js, stream, consumer, true, o.MaxMsgs, o.ThresholdMsgs ?? Math.Max(0, o.MaxMsgs / 2), null, false, o.Expires, o.IdleHeartbeat, o.NotificationHandler);

    public ChannelReader<NatsJSMsg> Msgs => _channel.Reader;

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        await Connection.SubscribeInternalAsync(this, cancellationToken).ConfigureAwait(false);
        Connection.Reconnected += OnReconnected;
        lock (_gate) _pending = _maxMsgs;
        SendPull(_maxMsgs, _expires);
        _ = Task.Run(MonitorAsync);
    }

    internal override void Receive(ReadOnlySpan<byte> subject, ReadOnlySpan<byte> replyTo, ReadOnlySpan<byte> headers, ReadOnlySpan<byte> payload, int size)
    {
        Volatile.Write(ref _lastActivity, Environment.TickCount64);
        if (!headers.IsEmpty && replyTo.IsEmpty && IsStatus(headers))
        {
            OnStatus(HeaderParser.Parse(headers));
            return;
        }
        var msg = new NatsJSMsg(Materialize(subject, replyTo, headers, payload, size), _js);
        int pull = 0;
        bool finish = false;
        lock (_gate)
        {
            if (_done) return;
            _channel.Writer.TryWrite(msg);
            _received++;
            if (_consume)
            {
                _pending--;
                if (_pending <= _threshold)
                {
                    pull = _maxMsgs - Math.Max(0, _pending);
                    _pending = _maxMsgs;
                }
            }
            else finish = _received >= _maxMsgs;
        }
        if (pull > 0) SendPull(pull, _expires);
        if (finish) Finish(null);
    }

    private static bool IsStatus(ReadOnlySpan<byte> headers) =>
        headers.Length > 12 && headers.StartsWith("NATS/1.0 "u8) && char.IsAsciiDigit((char)headers[9]);

    private void OnStatus(NatsHeaders h)
    {
        switch (h.Code)
        {
            case 100:
                return; // idle heartbeat: activity already recorded
            case 404:
            case 408:
                if (!_consume) { Finish(null); return; }
                lock (_gate)
                {
                    var left = h.TryGetValue("Nats-Pending-Messages", out var v) && int.TryParse(v, NumberStyles.None, CultureInfo.InvariantCulture, out var n) ? n : _pending;
                    _pending = Math.Max(0, _pending - left);
                }
                TopUp();
                return;
            case 409 when h.MessageText.StartsWith("Consumer Deleted", StringComparison.Ordinal)
                       || h.MessageText.StartsWith("Consumer is push based", StringComparison.Ordinal):
                Finish(new NatsJSProtocolException(h.Code, h.MessageText));
                return;
            case 409 when h.MessageText.StartsWith("Server Shutdown", StringComparison.Ordinal)
                       || h.MessageText.StartsWith("Leadership Change", StringComparison.Ordinal):
                // The request died with its server or leader, not the consumer: ask again shortly
                // (after a reconnect the reconnect handler does it; SendPull skips while disconnected).
                _notify?.Invoke(new NatsJSNotification(NatsJSNotificationKind.Warning, $"409 {h.MessageText}"));
                _ = Task.Delay(250, _stop.Token).ContinueWith(_ => Reissue(), CancellationToken.None, TaskContinuationOptions.OnlyOnRanToCompletion, TaskScheduler.Default);
                return;
            case 409:
                _notify?.Invoke(new NatsJSNotification(NatsJSNotificationKind.Warning, $"409 {h.MessageText}"));
                if (!_consume) { Finish(null); return; }
                lock (_gate) _pending = 0; // the monitor re-pulls on its next tick, so a repeated 409 cannot spin
                return;
            default:
                Finish(new NatsJSProtocolException(h.Code, h.MessageText));
                return;
        }
    }

    private void TopUp()
    {
        int pull;
        lock (_gate)
        {
            if (_done || _pending > _threshold) return;
            pull = _maxMsgs - _pending;
            _pending = _maxMsgs;
        }
        SendPull(pull, _expires);
    }

    private void SendPull(int batch, TimeSpan expires)
    {
        if (_done || batch <= 0 || Connection.ConnectionState != NatsConnectionState.Open) return; // a reconnect pulls again
        var hb = _heartbeat;
        if (hb * 2 > expires) hb = expires >= TimeSpan.FromSeconds(1) ? TimeSpan.FromTicks(expires.Ticks / 2) : TimeSpan.Zero; // server: 2*hb <= expires (integer halving: TimeSpan / 2 may round up)
        var req = new PullRequest
        {
            Batch = batch,
            Expires = _noWait && expires <= TimeSpan.Zero ? null : expires.Ticks * 100,
            NoWait = _noWait ? true : null,
            MaxBytes = _maxBytes,
            IdleHeartbeat = hb > TimeSpan.Zero && !_noWait ? hb.Ticks * 100 : null,
        };
        try
        {
            Connection.PublishNoWait(_nextSubject, JsonSerializer.SerializeToUtf8Bytes(req, JSJsonContext.Default.PullRequest), Subject);
        }
        catch (NatsException)
        {
            // Disconnected with a full buffer or closed: the reconnect handler or Finish takes over.
        }
    }

    /// <summary>Re-issues the request after a reconnect (a restarted server forgot it).</summary>
    private void OnReconnected()
    {
        Volatile.Write(ref _lastActivity, Environment.TickCount64);
        if (Reissue()) _notify?.Invoke(new NatsJSNotification(NatsJSNotificationKind.Reissued, "pull re-issued after reconnect"));
    }

    private bool Reissue()
    {
        if (_done) return false;
        if (_consume)
        {
            lock (_gate) _pending = _maxMsgs;
            SendPull(_maxMsgs, _expires);
            return true;
        }
        int left;
        lock (_gate) left = _maxMsgs - _received;
        var remaining = _fetchDeadline - DateTime.UtcNow - TimeSpan.FromSeconds(2);
        if (left <= 0 || remaining < TimeSpan.FromSeconds(1)) return false;
        SendPull(left, remaining);
        return true;
    }

    /// <summary>Client-side fetch expiry, missed-heartbeat detection, and re-pulls after a 409.</summary>
    private async Task MonitorAsync()
    {
        var tick = _heartbeat > TimeSpan.Zero ? _heartbeat : TimeSpan.FromSeconds(1);
        if (tick > TimeSpan.FromSeconds(1)) tick = TimeSpan.FromSeconds(1);
        using var timer = new PeriodicTimer(tick);
        try
        {
            while (await timer.WaitForNextTickAsync(_stop.Token).ConfigureAwait(false))
            {
                if (!_consume && DateTime.UtcNow > _fetchDeadline) { Finish(null); return; }
                if (Connection.ConnectionState != NatsConnectionState.Open)
                {
                    Volatile.Write(ref _lastActivity, Environment.TickCount64);
                    continue;
                }
                if (_heartbeat > TimeSpan.Zero && Environment.TickCount64 - Volatile.Read(ref _lastActivity) > 2 * _heartbeat.TotalMilliseconds)
                {
                    Volatile.Write(ref _lastActivity, Environment.TickCount64);
                    _notify?.Invoke(new NatsJSNotification(NatsJSNotificationKind.MissedHeartbeat, $"no heartbeat for {2 * _heartbeat.TotalSeconds:0.#} s; pull re-issued"));
                    Reissue();
                    continue;
                }
                if (_consume) TopUp();
            }
        }
        catch (OperationCanceledException) { }
    }

    /// <summary>Ends the loop: UNSUB, complete the channel; in consume mode unread messages are NAKed so they come back at once.</summary>
    public void Finish(Exception? error)
    {
        lock (_gate)
        {
            if (_done) return;
            _done = true;
        }
        Connection.Reconnected -= OnReconnected;
        _stop.Cancel();
        Connection.RemoveSub(this);
        _channel.Writer.TryComplete(error);
    }

    /// <summary>NAK what was delivered to us but never handed out.</summary>
    public void NakUnread()
    {
        while (_channel.Reader.TryRead(out var m)) Nak(m);
    }

    /// <summary>Hands one delivered message back (-NAK, no delay), best effort.</summary>
    public void Nak(NatsJSMsg m)
    {
        if (m.ReplyTo is null) return;
        try { Connection.PublishNoWait(m.ReplyTo, "-NAK"u8.ToArray(), null); }
        catch (NatsException) { }
    }

    internal override void Complete(Exception? error) => Finish(error);
}
