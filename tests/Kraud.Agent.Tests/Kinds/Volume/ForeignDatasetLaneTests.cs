using Kraud.Zfs;
using Kraud.Zfs.Schedule;
using Microsoft.Extensions.Time.Testing;
using Kraud.Agent.Kinds.Snapshot;
using Kraud.Agent.Kinds.Volume;

namespace Kraud.Agent.Tests.Kinds.Volume;

/// <summary>
/// The agent changes or destroys only datasets and snapshots that carry its mark (kraud:id of the resource and
/// kraud:host of this host): one with the name but without the mark is refused (permanent, the message names it)
/// and left exactly as it was, however the agent came to it (Volume create or delete, Snapshot create or delete).
/// </summary>
[Collection("zfs-lane"), Trait("lane", "kernel"), Trait("marks", "kernel")]
public class ForeignDatasetLaneTests
{
    private static VolumeSpec Nfs(string pool) => new() { Pool = pool, Class = "nfs", SizeBytes = 32 << 20 };

    [Fact]
    public async Task AVolumeOverADatasetWithoutTheMarkIsRefusedAndLeftAlone()
    {
        await using var pool = await TestZpool.CreateAsync("kf");
        var (_, _, volumes, _) = VolumeParts.Create($"/etc/exports.d/kraud-{pool.Name}.exports");
        string ds = $"{pool.Name}/kraud/v";
        await TestZpool.Zfs("create", "-p", ds);
        string before = await TestZpool.GetAll(ds);

        var e = await Assert.ThrowsAsync<ForeignObjectException>(() => volumes.ReconcileAsync("v", 1, "h1", Nfs(pool.Name)));
        Assert.Equal($"dataset {ds} exists and is not kraud's (no kraud:id=v); left untouched", e.Message);
        Assert.Equal(before, await TestZpool.GetAll(ds));

        var d = await Assert.ThrowsAsync<ForeignObjectException>(() => volumes.DeleteAsync("v", "h1", null));
        Assert.Equal(e.Message, d.Message);
        Assert.Equal(before, await TestZpool.GetAll(ds));
    }

    [Fact]
    public async Task ASnapshotOfADatasetWithoutTheVolumesMarkIsRefused()
    {
        await using var pool = await TestZpool.CreateAsync("kf");
        var (zfs, _, _, snapshots) = VolumeParts.Create($"/etc/exports.d/kraud-{pool.Name}.exports");
        string ds = $"{pool.Name}/kraud/v";
        await TestZpool.Zfs("create", "-p", ds);

        var e = await Assert.ThrowsAsync<ForeignObjectException>(() => snapshots.ReconcileAsync("s1", 1, "h1", new SnapshotSpec { Volume = "v", Name = "x" }));
        Assert.Equal($"dataset {ds} exists and is not kraud's (no kraud:id=v); left untouched", e.Message);
        Assert.False(zfs.Exists(ds + "@user-x"));
        Assert.Equal("", (await TestZpool.Zfs("list", "-H", "-t", "snapshot", "-o", "name", "-r", ds)).Trim());
    }

    [Fact]
    public async Task AnotherHostsVolumeIsNeitherTakenOverNorDestroyed()
    {
        await using var pool = await TestZpool.CreateAsync("kf");
        var (_, _, volumes, _) = VolumeParts.Create($"/etc/exports.d/kraud-{pool.Name}.exports");
        string ds = $"{pool.Name}/kraud/w";
        await TestZpool.Zfs("create", "-p", "-o", "kraud:id=w", "-o", "kraud:host=h2", "-o", "kraud:generation=4", ds);
        string before = await TestZpool.GetAll(ds);

        var e = await Assert.ThrowsAsync<ForeignObjectException>(() => volumes.ReconcileAsync("w", 5, "h1", Nfs(pool.Name)));
        Assert.Equal($"dataset {ds} exists and is not kraud's on this host (kraud:host is 'h2', not 'h1'); left untouched", e.Message);
        Assert.Equal(before, await TestZpool.GetAll(ds));

        var d = await Assert.ThrowsAsync<ForeignObjectException>(() => volumes.DeleteAsync("w", "h1", Nfs(pool.Name)));
        Assert.Equal(e.Message, d.Message);
        Assert.Equal(before, await TestZpool.GetAll(ds));
    }

    [Fact]
    public async Task ASnapshotWithoutTheMarkOnTheAgentsVolumeIsRefusedAndKept()
    {
        await using var pool = await TestZpool.CreateAsync("kf");
        var (zfs, _, volumes, snapshots) = VolumeParts.Create($"/etc/exports.d/kraud-{pool.Name}.exports");
        await volumes.ReconcileAsync("v", 1, "h1", Nfs(pool.Name));
        string ds = $"{pool.Name}/kraud/v", snap = ds + "@user-x";
        await TestZpool.Zfs("snapshot", snap);
        var spec = new SnapshotSpec { Volume = "v", Name = "x" };

        // The snapshot shows the volume's kraud:id (v), inherited: that marks nothing, also for a Snapshot whose id is v.
        Assert.Equal("v\tinherited from " + ds, (await TestZpool.Zfs("get", "-H", "-o", "value,source", "kraud:id", snap)).Trim());
        foreach (string id in new[] { "v", "s1" })
        {
            var e = await Assert.ThrowsAsync<ForeignObjectException>(() => snapshots.ReconcileAsync(id, 1, "h1", spec));
            Assert.Equal($"snapshot {snap} exists and is not kraud's (no kraud:id={id}); left untouched", e.Message);
            var d = await Assert.ThrowsAsync<ForeignObjectException>(() => snapshots.DeleteAsync(id, spec));
            Assert.Equal(e.Message, d.Message);
            // Without a spec the delete looks for the snapshots marked with the id, finds none and is done.
            Assert.Null((string?)(await snapshots.DeleteAsync(id, null))["snapshot"]);
            Assert.True(zfs.Exists(snap));
        }
    }
}

/// <summary>
/// The snapshot timer snapshots and prunes only the agent's volumes: not datasets that merely carry (or inherit) a
/// schedule, nor another host's volumes in a pool this host sees.
/// </summary>
[Collection("zfs-lane"), Trait("lane", "kernel"), Trait("marks", "kernel")]
public class ForeignScheduleLaneTests
{
    [Fact]
    public async Task ADatasetWithAScheduleButWithoutAVolumesMarkIsNotSnapshotted()
    {
        await using var pool = await TestZpool.CreateAsync("kf");
        var (zfs, _, volumes, _) = VolumeParts.Create($"/etc/exports.d/kraud-{pool.Name}.exports");
        var schedule = new SnapshotsSpec { Schedule = [new() { Every = "1h", Keep = 3 }] };
        await volumes.ReconcileAsync("a", 1, "h1", new VolumeSpec { Pool = pool.Name, Class = "nfs", SizeBytes = 16 << 20, Snapshots = schedule });
        string a = $"{pool.Name}/kraud/a";
        string property = (await TestZpool.Zfs("get", "-H", "-o", "value", SnapshotSchedule.Property, a)).Trim();
        // A child of the volume inherits its schedule and kraud:id; a dataset made by hand got the schedule set.
        await TestZpool.Zfs("create", a + "/child");
        await TestZpool.Zfs("create", "-o", $"{SnapshotSchedule.Property}={property}", $"{pool.Name}/kraud/x");

        var clock = new FakeTimeProvider(new DateTimeOffset(2026, 11, 21, 0, 0, 30, TimeSpan.Zero));
        var scheduler = new SnapshotScheduler(zfs, clock, _ => Task.FromResult<IReadOnlyList<string>>([pool.Root]), VolumeDatasets.ScheduledBy("h1"));
        var r = await scheduler.RunOnceAsync();
        Assert.Empty(r.Errors);
        Assert.Equal((1, 1), (r.Volumes, r.Created));
        Assert.Single(await zfs.ListSnapshotsAsync(a));
        Assert.Empty(await zfs.ListSnapshotsAsync(a + "/child"));
        Assert.Empty(await zfs.ListSnapshotsAsync($"{pool.Name}/kraud/x"));
    }

    [Fact]
    public async Task AnotherHostsVolumeInTheSamePoolIsNeitherSnapshottedNorPruned()
    {
        await using var pool = await TestZpool.CreateAsync("ko");
        var (zfs, _, volumes, _) = VolumeParts.Create($"/etc/exports.d/kraud-{pool.Name}.exports");
        var schedule = new SnapshotsSpec { Schedule = [new() { Every = "1h", Keep = 2 }] };
        await volumes.ReconcileAsync("mine", 1, "h1", new VolumeSpec { Pool = pool.Name, Class = "nfs", SizeBytes = 16 << 20, Snapshots = schedule });
        // The same layout and schedule, marked by host h2 (a pool carried over from it, or its agent on this kernel),
        // with three hourly snapshots of its own: more than keep, and none of this hour.
        await volumes.ReconcileAsync("theirs", 1, "h2", new VolumeSpec { Pool = pool.Name, Class = "nfs", SizeBytes = 16 << 20, Snapshots = schedule });
        string theirs = $"{pool.Name}/kraud/theirs";
        string[] old = ["auto-1h-20261120T2100Z", "auto-1h-20261120T2200Z", "auto-1h-20261120T2300Z"];
        foreach (var name in old) await TestZpool.Zfs("snapshot", "-o", $"{ZfsApi.AutoProperty}=1h", $"{theirs}@{name}");

        var clock = new FakeTimeProvider(new DateTimeOffset(2026, 11, 21, 0, 0, 30, TimeSpan.Zero));
        var scheduler = new SnapshotScheduler(zfs, clock, _ => Task.FromResult<IReadOnlyList<string>>([pool.Root]), VolumeDatasets.ScheduledBy("h1"));
        var r = await scheduler.RunOnceAsync();
        Assert.Empty(r.Errors);
        Assert.Equal((1, 1, 0), (r.Volumes, r.Created, r.Destroyed));
        Assert.Equal($"{pool.Name}/kraud/mine@auto-1h-20261121T0000Z", Assert.Single(r.Taken).Snapshot);
        Assert.Equal(old, (await zfs.ListSnapshotsAsync(theirs)).Select(s => s.ShortName).ToArray());

        // Host h2's own timer does take and prune them: the marks, not the layout, decide.
        var h2 = new SnapshotScheduler(zfs, clock, _ => Task.FromResult<IReadOnlyList<string>>([pool.Root]), VolumeDatasets.ScheduledBy("h2"));
        var r2 = await h2.RunOnceAsync();
        Assert.Empty(r2.Errors);
        Assert.Equal((1, 1, 2), (r2.Volumes, r2.Created, r2.Destroyed));
        Assert.Equal(["auto-1h-20261120T2300Z", "auto-1h-20261121T0000Z"], (await zfs.ListSnapshotsAsync(theirs)).Select(s => s.ShortName).ToArray());
        Assert.Single(await zfs.ListSnapshotsAsync($"{pool.Name}/kraud/mine"));
    }
}
