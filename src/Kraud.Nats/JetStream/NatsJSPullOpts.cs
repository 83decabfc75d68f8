namespace Kraud.Nats.JetStream;

/// <summary>Options of <see cref="NatsJSConsumer.FetchAsync"/>.</summary>
public sealed record NatsJSFetchOpts
{
    /// <summary>Most messages to get.</summary>
    public int MaxMsgs { get; init; } = 1;
    /// <summary>Most bytes to get (whole delivered size); null for no limit.</summary>
    public long? MaxBytes { get; init; }
    /// <summary>How long the server keeps the request open.</summary>
    public TimeSpan Expires { get; init; } = TimeSpan.FromSeconds(30);
    /// <summary>Server heartbeat while waiting (default expires/2, at most 30 s); two missed ones re-issue the request.</summary>
    public TimeSpan? IdleHeartbeat { get; init; }
    /// <summary>Return at once with what is there (404 when nothing).</summary>
    public bool NoWait { get; init; }
    /// <summary>Called for heartbeat losses, re-issued requests and warnings.</summary>
    public Action<NatsJSNotification>? NotificationHandler { get; init; }
}

/// <summary>Options of <see cref="NatsJSConsumer.ConsumeAsync"/>.</summary>
public sealed record NatsJSConsumeOpts
{
    /// <summary>Messages kept requested.</summary>
    public int MaxMsgs { get; init; } = 100;
    /// <summary>Pull more when the outstanding count drops to this (default half of MaxMsgs).</summary>
    public int? ThresholdMsgs { get; init; }
    /// <summary>Expiry of each pull request.</summary>
    public TimeSpan Expires { get; init; } = TimeSpan.FromSeconds(30);
    /// <summary>Server heartbeat (default expires/2, at most 30 s); two missed ones re-issue the pull.</summary>
    public TimeSpan? IdleHeartbeat { get; init; }
    /// <summary>Called for heartbeat losses, re-issued requests and warnings.</summary>
    public Action<NatsJSNotification>? NotificationHandler { get; init; }
}

/// <summary>Kinds of pull notifications.</summary>
public enum NatsJSNotificationKind
{
    /// <summary>No message or heartbeat for two heartbeat intervals; the pull was re-issued.</summary>
    MissedHeartbeat,
    /// <summary>The pull was re-issued after a reconnect.</summary>
    Reissued,
    /// <summary>A non-terminal 409 (e.g. leadership change, max waiting).</summary>
    Warning,
}

/// <summary>Something a pull loop noticed.</summary>
public sealed record NatsJSNotification(NatsJSNotificationKind Kind, string Text);
