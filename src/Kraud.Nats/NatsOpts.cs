using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Kraud.Nats;

/// <summary>Connection options (defaults as in NATS.Net v2).</summary>
public sealed record NatsOpts
{
    /// <summary>Default options: one server on localhost.</summary>
    public static readonly NatsOpts Default = new();

    /// <summary>Server URL, or several separated by commas (nats://, tls://; user:pass@ or token@ allowed).</summary>
    public string Url { get; init; } = "nats://localhost:4222";

    /// <summary>Connection name shown in server monitoring.</summary>
    public string? Name { get; init; }

    /// <summary>Receive our own publishes on matching subscriptions.</summary>
    public bool Echo { get; init; } = true;

    /// <summary>User/password or token credentials; those in the URL are used when these are empty.</summary>
    public NatsAuthOpts AuthOpts { get; init; } = NatsAuthOpts.Default;

    /// <summary>TLS settings; TLS is used for tls:// URLs, when the server requires it, or when <see cref="NatsTlsOpts.Mode"/> says so.</summary>
    public NatsTlsOpts TlsOpts { get; init; } = NatsTlsOpts.Default;

    /// <summary>How often the client pings the server.</summary>
    public TimeSpan PingInterval { get; init; } = TimeSpan.FromMinutes(2);

    /// <summary>Unanswered pings after which the connection counts as stale and is re-established.</summary>
    public int MaxPingOut { get; init; } = 2;

    /// <summary>Smallest wait between reconnect rounds (the first round is immediate).</summary>
    public TimeSpan ReconnectWaitMin { get; init; } = TimeSpan.FromSeconds(2);

    /// <summary>Largest wait between reconnect rounds (the wait doubles up to this).</summary>
    public TimeSpan ReconnectWaitMax { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>Random extra wait added to each reconnect wait.</summary>
    public TimeSpan ReconnectJitter { get; init; } = TimeSpan.FromMilliseconds(100);

    /// <summary>Reconnect rounds before giving up and closing; -1 retries forever.</summary>
    public int MaxReconnectRetry { get; init; } = -1;

    /// <summary>Timeout of one TCP/TLS connect plus handshake (5 s: NATS.Net uses 2 s, too tight on a loaded host).</summary>
    public TimeSpan ConnectTimeout { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>Default reply timeout of <see cref="NatsConnection.RequestAsync"/>.</summary>
    public TimeSpan RequestTimeout { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>Timeout of PING/flush and other control round trips.</summary>
    public TimeSpan CommandTimeout { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>Prefix of reply inboxes.</summary>
    public string InboxPrefix { get; init; } = "_INBOX";

    /// <summary>Keep the server list order instead of shuffling it.</summary>
    public bool NoRandomize { get; init; }

    /// <summary>Messages buffered per subscription before new ones are dropped (and <see cref="NatsConnection.MessageDropped"/> raised).</summary>
    public int SubPendingChannelCapacity { get; init; } = 1024;

    /// <summary>Bytes of publishes kept while disconnected; a publish beyond that fails.</summary>
    public int ReconnectBufferSize { get; init; } = 8 * 1024 * 1024;

    /// <summary>Bytes queued for the socket above which publishers wait for the writer.</summary>
    public int WriterHighWater { get; init; } = 4 * 1024 * 1024;

    /// <summary>When the first connect fails, keep retrying in the background instead of throwing.</summary>
    public bool RetryOnInitialConnect { get; init; }

    /// <summary>Logger factory; nothing is logged by default.</summary>
    public ILoggerFactory LoggerFactory { get; init; } = NullLoggerFactory.Instance;
}
