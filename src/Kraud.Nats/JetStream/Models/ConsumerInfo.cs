namespace Kraud.Nats.JetStream.Models;

/// <summary>A consumer's config and state.</summary>
public sealed record ConsumerInfo
{
    /// <summary>Stream name.</summary>
    public string StreamName { get; init; } = "";
    /// <summary>Consumer name.</summary>
    public string Name { get; init; } = "";
    /// <summary>Creation time.</summary>
    public DateTimeOffset Created { get; init; }
    /// <summary>Config in force.</summary>
    public ConsumerConfig Config { get; init; } = new();
    /// <summary>Last delivered.</summary>
    public SequenceInfo Delivered { get; init; } = new();
    /// <summary>Ack floor.</summary>
    public SequenceInfo AckFloor { get; init; } = new();
    /// <summary>Delivered, not yet acked.</summary>
    public long NumAckPending { get; init; }
    /// <summary>Redelivered.</summary>
    public long NumRedelivered { get; init; }
    /// <summary>Waiting pull requests.</summary>
    public long NumWaiting { get; init; }
    /// <summary>Not yet delivered.</summary>
    public ulong NumPending { get; init; }
    /// <summary>Raft group.</summary>
    public ClusterInfo? Cluster { get; init; }
}

/// <summary>A consumer/stream sequence pair.</summary>
public sealed record SequenceInfo
{
    /// <summary>Consumer sequence.</summary>
    public ulong ConsumerSeq { get; init; }
    /// <summary>Stream sequence.</summary>
    public ulong StreamSeq { get; init; }
}
