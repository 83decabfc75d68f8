using Kraud.Agent.Host;
using Kraud.Agent.Kinds.Snapshot;
using Kraud.Agent.Config;
using Kraud.Agent.Hosting;
using Kraud.Agent.Kinds.Volume;
using Kraud.Agent.Kinds.Volume.Replication;
using Kraud.Commands;
using Kraud.Zfs;
using Kraud.Zfs.Nfs;
using Kraud.Zfs.Schedule;
using Kraud.Zfs.Send;
using Microsoft.Extensions.Logging;

namespace Kraud.Agent.Composition;

/// <summary>
/// The storage parts the daemon shares between the Volume/Snapshot reconcilers and the storage service: one
/// exports file, one snapshot timer, and every Volume reconcile or delete invalidates the timer's listing so a
/// new or changed schedule counts on its next pass. Building it touches nothing on the host.
/// </summary>
public sealed class ZfsStorage
{
    private ZfsStorage(ZfsApi zfs, NfsExports exports, SnapshotScheduler scheduler, ZfsPresence present, TimeProvider clock, ReplicaVolume? replicas = null)
    {
        Present = present;
        Zfs = zfs;
        Exports = exports;
        Scheduler = scheduler;
        Volumes = new VolumeReconciler(zfs, exports, usedByPod: id => UsedByPod?.Invoke(id) == true) { Changed = scheduler.Invalidate, Replication = replicas };
        if (replicas?.Handover is { } handover) handover.UsedByPod = id => UsedByPod?.Invoke(id) == true;
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

    /// <summary>The volume replication service (listener and schedule), when the config has a `replication` section.</summary>
    public ReplicationService? Replication { get; private init; }
    public ReplicationSchedule? ReplicationSchedule { get; private init; }

    /// <summary>The daemon's storage; zfs, zpool and exportfs write their error output to <paramref name="loggers"/> (debug).</summary>
    public static ZfsStorage Create(TimeProvider clock, ILoggerFactory? loggers = null, AgentConfig? config = null)
    {
        loggers ??= Microsoft.Extensions.Logging.Abstractions.NullLoggerFactory.Instance;
        var runner = new ArgvRunner(loggers.CreateLogger("Kraud.Commands"));
        var zfs = new ZfsApi(new ZfsCli(runner));
        var exports = new NfsExports(runner: runner);
        // Every imported pool is looked at, so the host mark decides: a pool from another host, or a second agent on
        // this kernel, has volumes that are not ours to snapshot or prune. Without a config (tests of other parts) no
        // volume is this scheduler's.
        var scheduler = new SnapshotScheduler(zfs, clock, async ct =>
            (await zfs.Cli.ListPoolsAsync(ct)).Select(VolumeDatasets.Root).Where(zfs.Exists).ToList(),
            VolumeDatasets.ScheduledBy(config?.Host ?? ""));
        if (config?.Replication is not { Configured: true } rc)
            return new ZfsStorage(zfs, exports, scheduler, new ZfsPresence(clock), clock);

        ReplicationTls tls;
        try { tls = ReplicationTls.Load(rc.CertFile!, rc.KeyFile!, rc.CaFile!); }
        catch (Exception e) when (e is IOException or System.Security.Cryptography.CryptographicException or UnauthorizedAccessException)
        {
            throw new StartupException(ExitCodes.Config, $"replication.certFile/keyFile/caFile: {e.Message}");
        }
        var registry = new ReplicationRegistry();
        var streams = new ZfsSendReceive(zfs.Cli);
        // Sending and receiving count apart: two hosts replicating to each other must not wait on each other's slots.
        var sending = new SemaphoreSlim(rc.MaxTransfers, rc.MaxTransfers);
        var receiving = new SemaphoreSlim(rc.MaxTransfers, rc.MaxTransfers);
        var sender = new ReplicationSender(zfs, streams, tls, loggers.CreateLogger<ReplicationSender>());
        var schedule = new ReplicationSchedule(zfs, sender, registry, clock, sending, loggers.CreateLogger<ReplicationSchedule>());
        var receiver = new ReplicationReceiver(zfs, streams, registry, tls, config.Host, receiving, loggers.CreateLogger<ReplicationReceiver>());
        var replicas = new ReplicaVolume(zfs, exports, registry)
        {
            SourceStatus = schedule.StatusNode, Handover = new VolumeHandover(zfs, exports, registry, sender, clock),
        };
        return new ZfsStorage(zfs, exports, scheduler, new ZfsPresence(clock), clock, replicas)
        {
            Replication = new ReplicationService(receiver, schedule, rc.Listen, loggers.CreateLogger<ReplicationService>()),
            ReplicationSchedule = schedule,
        };
    }
}
