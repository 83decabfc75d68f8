using Kraud.Agent.Kinds.Snapshot;
using Kraud.Agent.Kinds.Volume;
using Kraud.Zfs;
using Kraud.Zfs.Nfs;

namespace Kraud.Agent.Tests.Kinds.Volume;

/// <summary>The kernel-lane Volume and Snapshot tests share one collection: they run one after another on the lane's 2 CPUs.</summary>
[CollectionDefinition("zfs-lane")]
public sealed class ZfsLaneCollection;

/// <summary>The Volume and Snapshot reconcilers over a real ZFS and an exports file of the test's own, as the daemon wires them.</summary>
public static class VolumeParts
{
    public static (ZfsApi Zfs, NfsExports Exports, VolumeReconciler Volumes, SnapshotReconciler Snapshots) Create(string exportsFile)
    {
        var zfs = new ZfsApi(new ZfsCli(TestZpool.Run));
        var exports = new NfsExports(exportsFile, runner: TestZpool.Run);
        var volumes = new VolumeReconciler(zfs, exports);
        return (zfs, exports, volumes, new SnapshotReconciler(zfs, volumes));
    }
}
