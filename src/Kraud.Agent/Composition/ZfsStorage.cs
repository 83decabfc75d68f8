using Kraud.Agent.Host;
using Kraud.Agent.Kinds.Snapshot;
using Kraud.Agent.Kinds.Volume;
using Kraud.Commands;
using Kraud.Zfs;
using Kraud.Zfs.Nfs;
using Kraud.Zfs.Schedule;
using Microsoft.Extensions.Logging;

namespace Kraud.Agent.Composition;

/// <summary>
/// The storage parts the daemon shares between the Volume/Snapshot reconcilers and the storage service: one
/// exports file, one snapshot timer, and every Volume reconcile or delete invalidates the timer's listing so a
/// new or changed schedule counts on its next pass. Building it touches nothing on the host.
/// </summary>
public sealed class ZfsStorage
{
    private ZfsStorage(ZfsApi zfs, NfsExports exports, SnapshotScheduler scheduler, ZfsPresence present, TimeProvider clock)
    {
        Present = present;
        Zfs = zfs;
        Exports = exports;
        Scheduler = scheduler;
        Volumes = new VolumeReconciler(zfs, exports, usedByPod: id => UsedByPod?.Invoke(id) == true) { Changed = scheduler.Invalidate };
        Snapshots = new SnapshotReconciler(zfs, Volumes);
        Pools = new PoolReport(zfs.Cli, () => present.Ok, clock);
    }

    /// <summary>Whether a pod of this host uses volume id (set by the Pod kind's registration): such a Volume's delete is refused.</summary>
    public Func<string, bool>? UsedByPod { get; set; }

    /// <summary>Whether ZFS is usable here (one probe for every storage part).</summary>
    public ZfsPresence Present { get; }

    public ZfsApi Zfs { get; }
    public NfsExports Exports { get; }
    public SnapshotScheduler Scheduler { get; }
    public VolumeReconciler Volumes { get; }
    public SnapshotReconciler Snapshots { get; }

    /// <summary>The pools for the host record (resources.pools).</summary>
    public PoolReport Pools { get; }

    /// <summary>
    /// Volume <paramref name="id"/>'s mountpoint when it is a mounted filesystem (class nfs) of this host: what a
    /// pod's share serves. Null for a zvol, an unmounted filesystem or no such volume.
    /// </summary>
    public async Task<string?> MountedFilesystemAsync(string id, CancellationToken ct)
    {
        if (!Present.Ok) return null;
        string? ds = await Volumes.FindAsync(id, null, ct).ConfigureAwait(false);
        if (ds is null) return null;
        var p = await Zfs.Cli.GetAsync(ds, ["type", "mounted", "mountpoint"], ct).ConfigureAwait(false);
        return p["type"].Value == "filesystem" && p["mounted"].Value == "yes" && p["mountpoint"].Value.StartsWith('/') ? p["mountpoint"].Value : null;
    }

    /// <summary>The daemon's storage; zfs, zpool and exportfs write their error output to <paramref name="loggers"/> (debug).</summary>
    public static ZfsStorage Create(TimeProvider clock, ILoggerFactory? loggers = null)
    {
        var runner = new ArgvRunner(loggers?.CreateLogger("Kraud.Commands"));
        var zfs = new ZfsApi(new ZfsCli(runner));
        return new ZfsStorage(zfs, new NfsExports(runner: runner), new SnapshotScheduler(zfs, clock, async ct =>
            (await zfs.Cli.ListPoolsAsync(ct)).Select(VolumeDatasets.Root).Where(zfs.Exists).ToList(),
            VolumeDatasets.IdProperty, VolumeDatasets.GenerationProperty), new ZfsPresence(clock), clock);
    }
}
