using Kraud.Agent.Kinds.Snapshot;
using Kraud.Agent.Kinds.Volume;

namespace Kraud.Agent.Tests.Kinds.Volume;

[Collection("zfs-lane"), Trait("lane", "kernel")]
public class RestoreTests
{
    [Fact]
    public async Task RestoreRollsBackOncePerRequestId()
    {
        await using var pool = await TestZpool.CreateAsync("kr");
        var (zfs, _, volumes, snapshots) = VolumeParts.Create($"/etc/exports.d/kraud-{pool.Name}.exports");
        var spec = new VolumeSpec { Pool = pool.Name, Class = "nfs", SizeBytes = 32 << 20 };
        await volumes.ReconcileAsync("v", 1, "h1", spec);
        string dir = $"/{pool.Name}/kraud/v";
        File.WriteAllText(dir + "/before", "kept");

        var snap = await snapshots.ReconcileAsync("snap-1", 1, "h1", new SnapshotSpec { Volume = "v", Name = "before-upgrade" });
        Assert.Equal($"{pool.Name}/kraud/v@user-before-upgrade", (string?)snap["snapshot"]);
        // A second reconcile of the snapshot changes nothing.
        Assert.Equal((long?)snap["createTxg"], (long?)(await snapshots.ReconcileAsync("snap-1", 1, "h1", new SnapshotSpec { Volume = "v", Name = "before-upgrade" }))["createTxg"]);
        File.WriteAllText(dir + "/after", "gone after restore");
        // A later scheduled snapshot is in the way of a plain rollback; restore removes it (zfs rollback -r).
        zfs.Snapshot([$"{pool.Name}/kraud/v@auto-1h-20261121T2000Z"], new Dictionary<string, string> { ["kraud:auto"] = "1h" });

        var withRestore = new VolumeSpec { Pool = pool.Name, Class = "nfs", SizeBytes = 32 << 20, Restore = new() { Snapshot = "before-upgrade", RequestId = "r-17" } };
        var o = await volumes.ReconcileAsync("v", 2, "h1", withRestore);
        Assert.Equal("r-17", (string?)o["restoredRequestId"]);
        Assert.True(File.Exists(dir + "/before"));
        Assert.False(File.Exists(dir + "/after"));

        File.WriteAllText(dir + "/later", "must survive the same requestId");
        await volumes.ReconcileAsync("v", 2, "h1", withRestore);
        Assert.True(File.Exists(dir + "/later"));

        // A new requestId restores again.
        await volumes.ReconcileAsync("v", 3, "h1", new VolumeSpec { Pool = pool.Name, Class = "nfs", SizeBytes = 32 << 20, Restore = new() { Snapshot = "before-upgrade", RequestId = "r-18" } });
        Assert.False(File.Exists(dir + "/later"));

        // The Snapshot resource's delete destroys it; a second delete is fine.
        await snapshots.DeleteAsync("snap-1", new SnapshotSpec { Volume = "v", Name = "before-upgrade" });
        Assert.False(zfs.Exists($"{pool.Name}/kraud/v@user-before-upgrade"));
        await snapshots.DeleteAsync("snap-1", new SnapshotSpec { Volume = "v", Name = "before-upgrade" });

        // A delete without spec (state directory lost) finds the snapshot by its kraud:id alone; the volume's
        // other snapshots, and a user snapshot of another resource, stay.
        await snapshots.ReconcileAsync("snap-2", 1, "h1", new SnapshotSpec { Volume = "v", Name = "keep-me" });
        await snapshots.ReconcileAsync("snap-3", 1, "h1", new SnapshotSpec { Volume = "v", Name = "lost-spec" });
        Assert.Equal([$"{pool.Name}/kraud/v@user-lost-spec"], await snapshots.FindByIdAsync("snap-3"));
        var gone = await snapshots.DeleteAsync("snap-3", null);
        Assert.Equal($"{pool.Name}/kraud/v@user-lost-spec", (string?)gone["snapshot"]);
        Assert.False(zfs.Exists($"{pool.Name}/kraud/v@user-lost-spec"));
        Assert.True(zfs.Exists($"{pool.Name}/kraud/v@user-keep-me"));
        // Never applied on this host: nothing to find, done.
        Assert.Null((string?)(await snapshots.DeleteAsync("snap-never", null))["snapshot"]);
    }
}
