namespace Kraud.Agent.Kinds;

/// <summary>A part of the agent that adds to the host record: pools (storage), the WireGuard key (net), orphans.</summary>
public interface IHostReport
{
    Task ContributeAsync(HostReportBuilder report, CancellationToken ct);
}

/// <summary>What the parts contribute to one heartbeat.</summary>
public sealed class HostReportBuilder
{
    public List<PoolResource> Pools { get; } = [];
    public List<string> Orphans { get; } = [];
    /// <summary>The Vpc kind's part: each Vpc's WireGuard interface, public key and port.</summary>
    public List<VpcWireguard> Wireguard { get; } = [];
    public long RejectedTokens { get; set; }
    /// <summary>The Pod kind's part: its running pods and what is left for more.</summary>
    public PodsResource? Pods { get; set; }
    /// <summary>The Volume kind's replication: source volumes with a target behind 2 × every (null: no replication here).</summary>
    public int? VolumesBehindRpo { get; set; }
}

/// <summary>Pods on this host (host record `pods`): those whose VM runs, and the memory and vCPUs still allocatable.</summary>
public sealed record PodsResource(int Running, List<string> Ids, int AllocatableVcpus, long AllocatableMemoryBytes);

/// <summary>A Vpc's WireGuard identity in the host record (wireguard[]): what peers on other hosts configure.</summary>
public sealed record VpcWireguard(string Vpc, string Interface, string PublicKey, int? ListenPort);

/// <summary>One ZFS pool in the host record (resources.pools).</summary>
public sealed record PoolResource(string Name, long SizeBytes, long FreeBytes);
