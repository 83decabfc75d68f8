namespace Kraud.Agent.Kinds.Volume;

/// <summary>contract §7 Volume: a ZFS filesystem (class nfs) or zvol (class lv2) at &lt;pool&gt;/kraud/&lt;id&gt;.</summary>
public sealed class VolumeSpec
{
    public string? Pool { get; init; }
    public string? Class { get; init; }
    public long SizeBytes { get; init; }
    public Dictionary<string, string>? Properties { get; init; }
    public SnapshotsSpec? Snapshots { get; init; }
    public NfsSpec? Nfs { get; init; }
    public RestoreSpec? Restore { get; init; }
    public ReplicationSpec? Replication { get; init; }

    public bool IsNfs => Class == "nfs";

    /// <summary>A replica of another host's volume: read-only, never mounted, exported or given to a pod.</summary>
    public bool IsReplica => Replication?.Role == ReplicationSpec.ReplicaRole;
}

public sealed class SnapshotsSpec
{
    public List<ScheduleRuleSpec>? Schedule { get; init; }
}

public sealed class ScheduleRuleSpec
{
    public string? Every { get; init; }
    public int Keep { get; init; }
}

public sealed class NfsSpec
{
    public List<NfsClientSpec>? Clients { get; init; }
}

public sealed class NfsClientSpec
{
    public string? Match { get; init; }
    public string? Options { get; init; }
}

public sealed class RestoreSpec
{
    public string? Snapshot { get; init; }
    public string? RequestId { get; init; }
}

/// <summary>replication.md: the owner (`source`) sends to its targets every `every`; a `replica` receives from its source.</summary>
public sealed class ReplicationSpec
{
    public const string SourceRole = "source", ReplicaRole = "replica";

    public string? Role { get; init; }
    public List<ReplicationTargetSpec>? Targets { get; init; }
    public string? Every { get; init; }
    public int Keep { get; init; }
    public ReplicationPeerSpec? Source { get; init; }
    public HandoverSpec? Handover { get; init; }
}

public sealed class ReplicationTargetSpec
{
    public string? Host { get; init; }
    /// <summary>host:port or [v6]:port of the target's replication listener.</summary>
    public string? Address { get; init; }
}

public sealed class ReplicationPeerSpec
{
    public string? Host { get; init; }
}

public sealed class HandoverSpec
{
    public string? To { get; init; }
    public string? RequestId { get; init; }
}
