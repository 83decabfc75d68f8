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

    public bool IsNfs => Class == "nfs";
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
