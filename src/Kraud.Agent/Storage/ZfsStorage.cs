using Kraud.Agent.Probes;
using Kraud.Zfs;
using Kraud.Zfs.Nfs;
using Kraud.Zfs.Reconcile;
using Kraud.Zfs.Schedule;
using Kraud.Commands;
using Microsoft.Extensions.Logging;

namespace Kraud.Agent.Storage;

/// <summary>
/// The storage parts the daemon shares between the Volume/Snapshot reconcilers and the storage service: one
/// exports file, one snapshot timer, and every Volume reconcile or delete invalidates the timer's listing so a
/// new or changed schedule counts on its next pass. Building it touches nothing on the host.
/// </summary>
public sealed class ZfsStorage
{
    private ZfsStorage(ZfsApi zfs, NfsExports exports, SnapshotScheduler scheduler, TimeProvider clock)
    {
        Zfs = zfs;
        Exports = exports;
        Scheduler = scheduler;
        Volumes = new VolumeReconciler(zfs, exports) { Changed = scheduler.Invalidate };
        Snapshots = new SnapshotReconciler(zfs, Volumes);
        Pools = new PoolReport(zfs.Cli, () => new HostProbes().Zfs().Ok, clock);
    }

    public ZfsApi Zfs { get; }
    public NfsExports Exports { get; }
    public SnapshotScheduler Scheduler { get; }
    public VolumeReconciler Volumes { get; }
    public SnapshotReconciler Snapshots { get; }

    /// <summary>The pools for the host record (resources.pools).</summary>
    public PoolReport Pools { get; }

    /// <summary>The daemon's storage; zfs, zpool and exportfs write their error output to <paramref name="loggers"/> (debug).</summary>
    public static ZfsStorage Create(TimeProvider clock, ILoggerFactory? loggers = null)
    {
        var runner = new ArgvRunner(loggers?.CreateLogger("Kraud.Commands"));
        var zfs = new ZfsApi(new ZfsCli(runner));
        return new ZfsStorage(zfs, new NfsExports(runner: runner), SnapshotScheduler.ForAllPools(zfs, clock), clock);
    }
}
