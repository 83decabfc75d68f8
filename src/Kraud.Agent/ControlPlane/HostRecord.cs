using Kraud.Agent.Kinds;

namespace Kraud.Agent.ControlPlane;

/// <summary>A value in KRAUD_HOSTS (contract section 5).</summary>
public sealed record HostRecord
{
    public required string Host { get; init; }
    public required string AgentVersion { get; init; }
    [System.Text.Json.Serialization.JsonConverter(typeof(UtcMillisecondsConverter))]
    public DateTimeOffset StartedAt { get; init; }
    [System.Text.Json.Serialization.JsonConverter(typeof(UtcMillisecondsConverter))]
    public DateTimeOffset HeartbeatAt { get; init; }
    public bool Draining { get; init; }
    public required HostCapabilities Capabilities { get; init; }
    public required HostResources Resources { get; init; }
    /// <summary>One entry per Vpc on this host: each has its own WireGuard interface, key and port (its own VRF).</summary>
    public List<VpcWireguard> Wireguard { get; init; } = [];
    public List<string> Orphans { get; init; } = [];
    /// <summary>Work tokens terminated since the agent started because their subject names no resource a status can carry.</summary>
    public long RejectedTokens { get; init; }
    /// <summary>The Pod kind: running pods and allocatable memory/vCPUs (null when the kind reported nothing).</summary>
    public PodsResource? Pods { get; init; }
    /// <summary>Volume replication: source volumes whose lag passed 2 × every (null when replication is not configured).</summary>
    public int? VolumesBehindRpo { get; init; }
}

public sealed record HostCapabilities(bool Kvm, bool Zfs, string Wireguard, bool Ip6tnl, bool Nfs);

public sealed record HostResources(int Cpus, long MemoryBytes, List<PoolResource> Pools);


