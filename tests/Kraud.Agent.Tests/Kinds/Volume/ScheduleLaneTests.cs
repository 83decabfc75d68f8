using Microsoft.Extensions.Time.Testing;
using Kraud.Agent.Kinds.Volume;
using Kraud.Zfs.Schedule;

namespace Kraud.Agent.Tests.Kinds.Volume;

[Collection("zfs-lane"), Trait("lane", "kernel")]
public class ScheduleLaneTests
{
    [Fact]
    public async Task ADayOfPassesCreatesAndPrunesOnlyOwnUnheldSnapshots()
    {
        await using var pool = await TestZpool.CreateAsync("kc");
        var (zfs, _, volumes, _) = VolumeParts.Create($"/etc/exports.d/kraud-{pool.Name}.exports");
        var schedule = new SnapshotsSpec { Schedule = [new() { Every = "1h", Keep = 3 }, new() { Every = "1d", Keep = 1 }] };
        foreach (var id in new[] { "a", "b" })
            await volumes.ReconcileAsync(id, 1, "h1", new VolumeSpec { Pool = pool.Name, Class = "nfs", SizeBytes = 16 << 20, Snapshots = schedule });
        await volumes.ReconcileAsync("noschedule", 1, "h1", new VolumeSpec { Pool = pool.Name, Class = "nfs", SizeBytes = 16 << 20 });
        string a = $"{pool.Name}/kraud/a", b = $"{pool.Name}/kraud/b";
        // A foreign snapshot that looks like ours (no kraud:auto property) and a user snapshot: both must survive.
        await TestZpool.Zfs("snapshot", a + "@auto-1h-20261120T0000Z");
        await TestZpool.Zfs("snapshot", a + "@mine");

        var clock = new FakeTimeProvider(new DateTimeOffset(2026, 11, 21, 0, 0, 30, TimeSpan.Zero));
        var scheduler = new SnapshotScheduler(zfs, clock, _ => Task.FromResult<IReadOnlyList<string>>([pool.Root]), VolumeDatasets.ScheduledBy("h1"));
        int created = 0, destroyed = 0;
        string? held = null;
        for (int step = 0; step < 24 * 4; step++, clock.Advance(TimeSpan.FromMinutes(15)))
        {
            var r = await scheduler.RunOnceAsync();
            Assert.Empty(r.Errors);
            Assert.Equal(2, r.Volumes);
            created += r.Created;
            destroyed += r.Destroyed;
            if (step == 8) { held = b + "@auto-1h-20261121T0200Z"; zfs.Hold([held], "keep"); }
        }
        // 24 hourly + 1 daily per volume.
        Assert.Equal(2 * 25, created);
        var snapsA = (await zfs.ListSnapshotsAsync(a)).Select(s => s.ShortName).ToList();
        var snapsB = (await zfs.ListSnapshotsAsync(b)).Select(s => s.ShortName).ToList();
        Assert.Equal(["auto-1h-20261120T0000Z", "mine", "auto-1d-20261121T0000Z", "auto-1h-20261121T2100Z", "auto-1h-20261121T2200Z", "auto-1h-20261121T2300Z"], snapsA);
        Assert.Equal(["auto-1d-20261121T0000Z", "auto-1h-20261121T0200Z", "auto-1h-20261121T2100Z", "auto-1h-20261121T2200Z", "auto-1h-20261121T2300Z"], snapsB);
        Assert.Equal(2 * 21 - 1, destroyed);
        Assert.Equal(a + "@auto-1h-20261121T2300Z", scheduler.NewestSnapshot(a));
        var observed = await volumes.ReconcileAsync("a", 1, "h1", new VolumeSpec { Pool = pool.Name, Class = "nfs", SizeBytes = 16 << 20, Snapshots = schedule });
        Assert.Equal(a + "@auto-1h-20261121T2300Z", (string?)observed["newestSnapshot"]!["name"]);
        Assert.Matches(@"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$", (string?)observed["newestSnapshot"]!["createdAt"]);
        Assert.Empty(await TestZpool.Zfs("list", "-H", "-t", "snapshot", "-r", $"{pool.Name}/kraud/noschedule"));
        zfs.Release([held!], "keep");
    }
}
