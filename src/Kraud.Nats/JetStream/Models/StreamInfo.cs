namespace Kraud.Nats.JetStream.Models;

/// <summary>A stream's config and state as the server reports it (config normalized by the server).</summary>
public sealed record StreamInfo
{
    /// <summary>The configuration in force.</summary>
    public StreamConfig Config { get; init; } = new();
    /// <summary>Creation time.</summary>
    public DateTimeOffset Created { get; init; }
    /// <summary>Current state.</summary>
    public StreamState State { get; init; } = new();
    /// <summary>Cluster placement and replicas.</summary>
    public ClusterInfo? Cluster { get; init; }
    /// <summary>True when a create call made it (absent when it already existed identically).</summary>
    public bool DidCreate { get; init; }
}

/// <summary>Stream state.</summary>
public sealed record StreamState
{
    /// <summary>Messages stored.</summary>
    public ulong Messages { get; init; }
    /// <summary>Bytes stored.</summary>
    public ulong Bytes { get; init; }
    /// <summary>First sequence.</summary>
    public ulong FirstSeq { get; init; }
    /// <summary>Last sequence.</summary>
    public ulong LastSeq { get; init; }
    /// <summary>Distinct subjects.</summary>
    public long NumSubjects { get; init; }
    /// <summary>Per-subject counts (only with a subjects filter in the info request).</summary>
    public Dictionary<string, ulong>? Subjects { get; init; }
    /// <summary>Deleted messages.</summary>
    public long NumDeleted { get; init; }
    /// <summary>Consumers.</summary>
    public long ConsumerCount { get; init; }
}

/// <summary>Raft group of a stream or consumer.</summary>
public sealed record ClusterInfo
{
    /// <summary>Cluster name.</summary>
    public string? Name { get; init; }
    /// <summary>Leader server name.</summary>
    public string? Leader { get; init; }
    /// <summary>The other replicas.</summary>
    public List<PeerInfo>? Replicas { get; init; }
}

/// <summary>One replica.</summary>
public sealed record PeerInfo
{
    /// <summary>Server name.</summary>
    public string Name { get; init; } = "";
    /// <summary>Caught up.</summary>
    public bool Current { get; init; }
    /// <summary>Offline.</summary>
    public bool Offline { get; init; }
    /// <summary>Operations behind.</summary>
    public ulong Lag { get; init; }
}
