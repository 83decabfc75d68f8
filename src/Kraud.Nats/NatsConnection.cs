using System.Collections.Concurrent;
using System.Threading.Channels;
using Kraud.Nats.Internal;
using Microsoft.Extensions.Logging;

namespace Kraud.Nats;

/// <summary>
/// A NATS connection: one socket at a time, re-established across the server list when lost
/// (subscriptions re-sent, publishes buffered meanwhile up to <see cref="NatsOpts.ReconnectBufferSize"/>).
/// Thread-safe.
/// </summary>
public sealed partial class NatsConnection : IAsyncDisposable
{
    private readonly ILogger _logger;
    private readonly ServerPool _pool;
    private readonly ConcurrentDictionary<long, NatsSubBase> _subs = new();
    private readonly CancellationTokenSource _disposeCts = new();
    private readonly SemaphoreSlim _connectLock = new(1, 1);
    private long _nextSid;
    private volatile bool _disposed;
    private volatile NatsConnectionState _state = NatsConnectionState.Closed;
    private volatile NatsServerInfo? _serverInfo;

    /// <summary>Creates a connection; nothing happens until <see cref="ConnectAsync"/> (or the first publish/subscribe).</summary>
    public NatsConnection(NatsOpts? opts = null)
    {
        Opts = opts ?? NatsOpts.Default;
        _logger = Opts.LoggerFactory.CreateLogger("Kraud.Nats");
        _pool = new ServerPool(Opts.Url, Opts.NoRandomize);
    }

    /// <summary>The options it was made with.</summary>
    public NatsOpts Opts { get; }

    /// <summary>The current state.</summary>
    public NatsConnectionState ConnectionState => _state;

    /// <summary>INFO of the server we are (or were last) connected to.</summary>
    public NatsServerInfo? ServerInfo => _serverInfo;

    /// <summary>Raised on every state change (connected, reconnecting, closed), e.g. for a systemd STATUS line.</summary>
    public event EventHandler<NatsConnectionStateChangedEventArgs>? ConnectionStateChanged;

    /// <summary>Raised for each -ERR from the server.</summary>
    public event EventHandler<NatsServerErrorEventArgs>? ServerError;

    /// <summary>Raised when the server announces lame duck mode (it will close us soon).</summary>
    public event EventHandler<NatsServerInfo>? LameDuckModeActivated;

    /// <summary>Raised when a subscription's buffer is full and a message is dropped.</summary>
    public event EventHandler<NatsMessageDroppedEventArgs>? MessageDropped;

    /// <summary>Raised after a reconnect once subscriptions are re-sent (JetStream re-issues pulls here).</summary>
    internal event Action? Reconnected;

    /// <summary>A fresh unique inbox subject.</summary>
    public string NewInbox() => $"{Opts.InboxPrefix}.{Nuid.Next()}";

    /// <summary>Connects to the first reachable server; returns at once when already connected or reconnecting.</summary>
    public async ValueTask ConnectAsync(CancellationToken cancellationToken = default)
    {
        if (_state != NatsConnectionState.Closed) return;
        await _connectLock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            if (_state != NatsConnectionState.Closed) return;
            SetState(NatsConnectionState.Connecting, null, null);
            Exception? last = null;
            foreach (var uri in _pool.ConnectOrder(null))
            {
                try
                {
                    var s = await EstablishAsync(uri, cancellationToken).ConfigureAwait(false);
                    StartSession(s, reconnected: false);
                    return;
                }
                catch (Exception ex) when (!cancellationToken.IsCancellationRequested)
                {
                    _logger.LogWarning("NATS connect to {Url} failed: {Error}", uri, ex.Message);
                    last = ex;
                }
            }
            if (Opts.RetryOnInitialConnect)
            {
                SetState(NatsConnectionState.Reconnecting, null, last);
                _ = Task.Run(() => ReconnectLoopAsync(null));
                return;
            }
            SetState(NatsConnectionState.Closed, null, last);
            throw new NatsException($"could not connect to any server of '{Opts.Url}': {last?.Message}", last);
        }
        catch (OperationCanceledException)
        {
            if (_state == NatsConnectionState.Connecting) SetState(NatsConnectionState.Closed, null, null);
            throw;
        }
        finally
        {
            _connectLock.Release();
        }
    }

    private ValueTask EnsureConnectedAsync(CancellationToken cancellationToken)
    {
        if (_disposed) throw new NatsConnectionClosedException("connection is disposed");
        return _state == NatsConnectionState.Closed ? ConnectAsync(cancellationToken) : default;
    }

    private void SetState(NatsConnectionState state, NatsUri? uri, Exception? error)
    {
        _state = state;
        try { ConnectionStateChanged?.Invoke(this, new NatsConnectionStateChangedEventArgs(state, uri?.ToString(), error)); }
        catch (Exception ex) { _logger.LogError(ex, "ConnectionStateChanged handler failed"); }
    }

    internal void OnMessageDropped(string subject, int pending)
    {
        try { MessageDropped?.Invoke(this, new NatsMessageDroppedEventArgs(subject, pending)); }
        catch (Exception ex) { _logger.LogError(ex, "MessageDropped handler failed"); }
    }

    private void RaiseReconnected()
    {
        var handlers = Reconnected;
        if (handlers is null) return;
        foreach (Action h in handlers.GetInvocationList())
        {
            try { h(); }
            catch (Exception ex) { _logger.LogError(ex, "reconnect handler failed"); }
        }
    }

    /// <summary>Closes the socket, stops reconnecting and completes every subscription.</summary>
    public async ValueTask DisposeAsync()
    {
        if (_disposed) return;
        _disposed = true;
        _disposeCts.Cancel();
        Session? s;
        lock (_lock) s = _session;
        if (s is not null)
        {
            // Give queued publishes a moment to leave before closing (best effort, like a drain).
            try { await PingCoreAsync(CancellationToken.None).AsTask().WaitAsync(TimeSpan.FromSeconds(1)).ConfigureAwait(false); }
            catch (Exception) { /* best effort only: the connection closes either way */ }
            FailSession(s, new NatsConnectionClosedException("connection disposed"));
            await s.WaitStoppedAsync().ConfigureAwait(false);
        }
        foreach (var sub in _subs.Values) sub.Complete(null);
        _subs.Clear();
        _mux?.FailAll(new NatsConnectionClosedException("connection disposed"));
        SetState(NatsConnectionState.Closed, null, null);
    }
}
