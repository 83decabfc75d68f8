using System.Text.Json;
using Kraud.Nats.Internal;
using Microsoft.Extensions.Logging;

namespace Kraud.Nats;

public sealed partial class NatsConnection
{
    /// <summary>Installs a handshaken session: SUBs first, then what was buffered while disconnected; starts its loops.</summary>
    private void StartSession(Session s, bool reconnected)
    {
        s.ReadTask = Task.Run(() => ReadLoopAsync(s));
        s.WriteTask = Task.Run(() => WriteLoopAsync(s));
        s.PingTask = Task.Run(() => PingLoopAsync(s));
        lock (_lock)
        {
            var fresh = _spare;
            fresh.Reset();
            foreach (var sub in _subs.Values) ProtocolEncoder.Sub(fresh, sub.Subject, sub.QueueGroup, sub.Sid);
            fresh.Write(_pending.Written.Span);
            // PINGs queued for the lost session will be answered here: let their PONGs fall on placeholders.
            for (var i = 0; i < _pending.PingCount; i++) s.Pongs.Enqueue(null);
            fresh.PingCount = _pending.PingCount;
            _pending.Reset();
            _spare = _pending;
            _pending = fresh;
            _pendingLength = fresh.Length;
            _session = s;
            _serverInfo = s.Info;
        }
        s.MarkStarted();
        SignalWriter();
        _logger.LogInformation("NATS connected to {Url} ({Server} {Version})", s.Uri, s.Info.ServerName, s.Info.Version);
        SetState(NatsConnectionState.Open, s.Uri, null);
        if (reconnected) RaiseReconnected();
    }

    /// <summary>Tears a session down once (socket error, stale pings, lame duck, dispose) and starts reconnecting.</summary>
    private void FailSession(Session s, Exception error)
    {
        if (!s.TryMarkFailed()) return;
        lock (_lock)
        {
            if (_session == s) _session = null;
        }
        s.Cts.Cancel();
        try { s.Stream.Dispose(); } catch (Exception) { /* a broken stream may throw on close; it is gone either way */ }
        while (s.Pongs.TryDequeue(out var waiter)) waiter?.TrySetException(new NatsException("connection lost before PONG", error));
        if (_disposed) return;
        _logger.LogWarning("NATS connection to {Url} lost: {Error}", s.Uri, error.Message);
        SetState(NatsConnectionState.Reconnecting, s.Uri, error);
        _ = Task.Run(() => ReconnectLoopAsync(s));
    }

    /// <summary>Tries the server list until one accepts: first round at once, then back-off doubling from min to max plus jitter.</summary>
    private async Task ReconnectLoopAsync(Session? lost)
    {
        if (lost is not null) await lost.WaitStoppedAsync().ConfigureAwait(false);
        await WaitWriterIdleAsync().ConfigureAwait(false);
        var rounds = 0;
        while (!_disposed)
        {
            foreach (var uri in _pool.ConnectOrder(lost?.Uri))
            {
                if (_disposed) return;
                try
                {
                    var s = await EstablishAsync(uri, _disposeCts.Token).ConfigureAwait(false);
                    if (_disposed) { await s.Stream.DisposeAsync().ConfigureAwait(false); s.Reader.Dispose(); return; }
                    StartSession(s, reconnected: true);
                    return;
                }
                catch (Exception ex) when (!_disposed)
                {
                    _logger.LogDebug("NATS reconnect to {Url} failed: {Error}", uri, ex.Message);
                }
                catch (Exception)
                {
                    return;
                }
            }
            rounds++;
            if (Opts.MaxReconnectRetry >= 0 && rounds > Opts.MaxReconnectRetry)
            {
                _logger.LogError("NATS gave up reconnecting after {Rounds} rounds", rounds);
                CloseForGood(new NatsConnectionClosedException($"gave up reconnecting after {rounds} rounds"));
                return;
            }
            try { await Task.Delay(ReconnectDelay(rounds), _disposeCts.Token).ConfigureAwait(false); }
            catch (OperationCanceledException) { return; }
        }
    }

    private TimeSpan ReconnectDelay(int round)
    {
        var min = Opts.ReconnectWaitMin.TotalMilliseconds;
        var max = Math.Max(min, Opts.ReconnectWaitMax.TotalMilliseconds);
        var wait = Math.Min(max, min * Math.Pow(2, Math.Min(round - 1, 16)));
        var jitter = Random.Shared.NextDouble() * Opts.ReconnectJitter.TotalMilliseconds;
        return TimeSpan.FromMilliseconds(wait + jitter);
    }

    private void CloseForGood(Exception error)
    {
        foreach (var sub in _subs.Values) sub.Complete(error);
        _subs.Clear();
        _mux?.FailAll(error);
        lock (_lock) _closedError = error;
        SetState(NatsConnectionState.Closed, null, error);
    }

    private async Task ReadLoopAsync(Session s)
    {
        await s.Started.ConfigureAwait(false);
        if (s.Failed) return;
        try
        {
            await s.Reader.RunAsync(new Handler(this, s), s.Token).ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            FailSession(s, ex);
        }
    }

    private async Task PingLoopAsync(Session s)
    {
        await s.Started.ConfigureAwait(false);
        try
        {
            using var timer = new PeriodicTimer(Opts.PingInterval);
            while (await timer.WaitForNextTickAsync(s.Token).ConfigureAwait(false))
            {
                if (Volatile.Read(ref s.PingsOut) >= Opts.MaxPingOut)
                {
                    FailSession(s, new NatsException($"stale connection: {s.PingsOut} PINGs unanswered"));
                    return;
                }
                Interlocked.Increment(ref s.PingsOut);
                lock (_lock)
                {
                    if (_session != s) return;
                    s.Pongs.Enqueue(null);
                    ProtocolEncoder.Ping(_pending);
                    _pendingLength = _pending.Length;
                }
                SignalWriter();
            }
        }
        catch (OperationCanceledException) { }
    }

    private void OnInfo(Session s, ReadOnlySpan<byte> json)
    {
        var info = JsonSerializer.Deserialize(json, CoreJsonContext.Default.NatsServerInfo);
        if (info is null) return;
        s.Info = info;
        _serverInfo = info;
        _pool.Merge(info.ClientConnectUrls);
        if (!info.LameDuckMode) return;
        _logger.LogWarning("NATS server {Url} entered lame duck mode", s.Uri);
        _pool.MarkLameDuck(s.Uri);
        try { LameDuckModeActivated?.Invoke(this, info); }
        catch (Exception ex) { _logger.LogError(ex, "LameDuckModeActivated handler failed"); }
        // With somewhere else to go, leave now instead of waiting to be cut off.
        if (_pool.Count > 1) _ = Task.Run(() => FailSession(s, new NatsException($"server {s.Uri} entered lame duck mode")));
    }

    private void OnServerError(Session s, string text)
    {
        _logger.LogWarning("NATS server {Url} error: {Error}", s.Uri, text);
        try { ServerError?.Invoke(this, new NatsServerErrorEventArgs(text)); }
        catch (Exception ex) { _logger.LogError(ex, "ServerError handler failed"); }
    }

    private void OnPing(Session s)
    {
        lock (_lock)
        {
            if (_session != s) return;
            ProtocolEncoder.Pong(_pending);
            _pendingLength = _pending.Length;
        }
        SignalWriter();
    }

    private static void OnPong(Session s)
    {
        Volatile.Write(ref s.PingsOut, 0);
        if (s.Pongs.TryDequeue(out var waiter)) waiter?.TrySetResult();
    }

    /// <summary>Routes the reader's operations to the connection, tagged with their session.</summary>
    private sealed class Handler(NatsConnection c, Session s) : IProtocolHandler
    {
        public void OnMsg(long sid, ReadOnlySpan<byte> subject, ReadOnlySpan<byte> replyTo, ReadOnlySpan<byte> headers, ReadOnlySpan<byte> payload, int size)
        {
            if (c._subs.TryGetValue(sid, out var sub)) sub.Receive(subject, replyTo, headers, payload, size);
        }

        public void OnPing() => c.OnPing(s);

        public void OnPong() => NatsConnection.OnPong(s);

        public void OnInfo(ReadOnlySpan<byte> json) => c.OnInfo(s, json);

        public void OnError(string text) => c.OnServerError(s, text);
    }
}
