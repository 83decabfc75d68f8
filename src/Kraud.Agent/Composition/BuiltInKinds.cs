using Kraud.Agent.Config;
using Kraud.Agent.Hosting;
using Kraud.Agent.Kinds;
using Kraud.Agent.Kinds.Overlay;
using Kraud.Agent.Kinds.Pod;
using Kraud.Agent.Kinds.Probe;
using Kraud.Agent.Kinds.Volume;
using Kraud.Agent.Kinds.Vpc;
using Microsoft.Extensions.Logging;

namespace Kraud.Agent.Composition;

/// <summary>What the kinds give the daemon: their reconcilers, their parts of the host record, and where their orphans are found on the host.</summary>
public sealed record KindSet(IReadOnlyList<IReconciler> Reconcilers, IReadOnlyList<IHostReport> Reports, IReadOnlyList<IResourceInventory> Inventories)
{
    /// <summary>Kinds that change their stored status between reconciles (a pod's VM exiting): given the engine once it exists.</summary>
    public IReadOnlyList<Action<IStatusAmender>> StatusAmenderUsers { get; init; } = [];

    /// <summary>What a kind runs from the agent's start, before the control plane is reached (adopting the VMs left running).</summary>
    public IReadOnlyList<IAgentService> Services { get; init; } = [];
}

/// <summary>
/// The kinds this build serves: the one place they are registered. A kind not listed
/// fails permanently with a message naming it. Adding a kind is a folder under Kinds/ and its lines here.
/// </summary>
public static class BuiltInKinds
{
    public static KindSet Create(AgentConfig config, ILoggerFactory loggers, ZfsStorage storage)
    {
        var net = loggers.CreateLogger("Kraud.Net");
        var vpcKeys = new VpcPublicKeys(config.StateDir);
        var pods = PodKind.Create(config, loggers);
        storage.UsedByPod = pods.UsesVolume;
        pods.FindFilesystem = storage.MountedFilesystemAsync;
        return new KindSet(
            Reconcilers:
            [
                new ProbeReconciler(),
                new VpcReconciler(logger: net, publicKeys: vpcKeys),
                new OverlayReconciler(logger: net),
                storage.Volumes,
                storage.Snapshots,
                pods,
            ],
            Reports: [vpcKeys, storage.Pools, pods, .. storage.Replication is { } r ? new IHostReport[] { r } : []],
            // Orphans are looked for on the host too, not only in the state dir (contract section 3.3).
            Inventories: [new VolumeDatasetInventory(storage.Zfs.Cli, () => storage.Present.Ok, config.Host), new VpcLinkInventory(config.Host),
                new PodVmInventory(pods, config.Host)])
        {
            StatusAmenderUsers = [pods.ReportVmChangesTo, amender => { if (storage.Replication is { } r) r.Amender = amender; }],
            Services = [new PodAdoption(pods, loggers.CreateLogger("Kraud.Agent.Kinds.Pod"))],
        };
    }
}
