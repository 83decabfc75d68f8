namespace Kraud.Nats.KeyValue;

/// <summary>Watch options.</summary>
public sealed record NatsKVWatchOpts
{
    /// <summary>Every stored revision first, not only the latest per key.</summary>
    public bool IncludeHistory { get; init; }
    /// <summary>Only changes from now on.</summary>
    public bool UpdatesOnly { get; init; }
    /// <summary>Skip delete and purge markers.</summary>
    public bool IgnoreDeletes { get; init; }
    /// <summary>Headers only (values come back empty).</summary>
    public bool MetaOnly { get; init; }
    /// <summary>Start at this revision (inclusive) instead of the latest values.</summary>
    public ulong? ResumeAtRevision { get; init; }
    /// <summary>Idle heartbeat of the ordered consumer; three missed ones recreate it.</summary>
    public TimeSpan IdleHeartbeat { get; init; } = TimeSpan.FromSeconds(5);
    /// <summary>End once the initial values are delivered (for listings).</summary>
    internal bool StopAfterInitial { get; init; }
}
