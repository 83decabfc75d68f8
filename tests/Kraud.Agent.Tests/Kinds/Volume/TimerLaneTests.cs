using Kraud.Zfs.Nfs;
using Kraud.Zfs;
using System.Threading.Channels;
using Kraud.Agent.Kinds.Volume;
using Kraud.Zfs.Schedule;

namespace Kraud.Agent.Tests.Kinds.Volume;

/// <summary>The snapshot timer as the daemon runs it (RunAsync), on a clock the test advances, over a real pool.</summary>
[Collection("zfs-lane"), Trait("lane", "kernel")]
public class TimerLaneTests
{
    private static async Task<SchedulerPassResult> NextAsync(ChannelReader<SchedulerPassResult> passes, TimerClock clock)
    {
        var r = await passes.ReadAsync().AsTask().WaitAsync(TimeSpan.FromMinutes(2));
        await Deadline.WaitUntilAsync(() => clock.Armed == 1, TimeSpan.FromMinutes(1), "the timer to wait for its next tick");
        return r;
    }

    [Fact]
    public async Task TheTimerTakesAndPrunesOverSimulatedHoursAndNamesEachVolumesNewestSnapshot()
    {
        await using var pool = await TestZpool.CreateAsync("kt");
        var (zfs, _, volumes, _) = VolumeParts.Create($"/etc/exports.d/kraud-{pool.Name}.exports");
        var spec = new VolumeSpec
        {
            Pool = pool.Name, Class = "nfs", SizeBytes = 16 << 20,
            Snapshots = new SnapshotsSpec { Schedule = [new() { Every = "1h", Keep = 2 }] },
        };
        await volumes.ReconcileAsync("t", 7, "h1", spec);
        string ds = pool.Root + "/t";
        var clock = new TimerClock(new DateTimeOffset(2026, 11, 21, 0, 0, 30, TimeSpan.Zero));
        var scheduler = new SnapshotScheduler(zfs, clock, _ => Task.FromResult<IReadOnlyList<string>>([pool.Root]), VolumeDatasets.ScheduledBy("h1"));
        var passes = Channel.CreateUnbounded<SchedulerPassResult>();
        using var stop = new CancellationTokenSource();
        var loop = scheduler.RunAsync((r, _) => { passes.Writer.TryWrite(r); return Task.CompletedTask; }, stop.Token);

        var started = DateTimeOffset.UtcNow;
        var first = await NextAsync(passes.Reader, clock);
        Assert.Empty(first.Errors);
        Assert.Equal((1, 1, 0), (first.Volumes, first.Created, first.Destroyed));
        var taken = Assert.Single(first.Taken);
        Assert.Equal((ds, "t", 7L, ds + "@auto-1h-20261121T0000Z"), (taken.Dataset, taken.VolumeId, taken.Generation, taken.Snapshot));
        // The creation time is the pool's (wall clock), not the simulated one.
        Assert.InRange(taken.CreatedAt!.Value, started.AddMinutes(-1), DateTimeOffset.UtcNow.AddMinutes(1));

        // Ten minutes on: nothing due, the pass answers from its cache.
        clock.Advance(TimeSpan.FromMinutes(10));
        Assert.True((await NextAsync(passes.Reader, clock)).FromCache);

        int created = 1, destroyed = 0;
        for (int hour = 1; hour <= 3; hour++)
        {
            clock.Advance(hour == 1 ? TimeSpan.FromMinutes(50) : TimeSpan.FromHours(1));
            var r = await NextAsync(passes.Reader, clock);
            Assert.Empty(r.Errors);
            Assert.False(r.FromCache);
            created += r.Created;
            destroyed += r.Destroyed;
            Assert.Equal($"{ds}@auto-1h-20261121T0{hour}00Z", Assert.Single(r.Taken).Snapshot);
        }
        Assert.Equal((4, 2), (created, destroyed));
        var left = (await zfs.ListSnapshotsAsync(ds)).Select(s => s.ShortName).ToList();
        Assert.Equal(["auto-1h-20261121T0200Z", "auto-1h-20261121T0300Z"], left);

        stop.Cancel();
        await loop.WaitAsync(TimeSpan.FromSeconds(30));
        await volumes.DeleteAsync("t", "h1", spec);
    }

    [Fact]
    public async Task AReconcileInvalidatesTheListingSoANewScheduleCountsOnTheNextPass()
    {
        await using var pool = await TestZpool.CreateAsync("ki");
        var zfs = new ZfsApi(new ZfsCli(TestZpool.Run));
        var clock = new TimerClock(new DateTimeOffset(2026, 11, 21, 10, 0, 30, TimeSpan.Zero));
        var scheduler = new SnapshotScheduler(zfs, clock, _ => Task.FromResult<IReadOnlyList<string>>([pool.Root]), VolumeDatasets.ScheduledBy("h1"));
        var volumes = new VolumeReconciler(zfs, new NfsExports($"/etc/exports.d/kraud-{pool.Name}.exports", runner: TestZpool.Run))
        {
            Changed = scheduler.Invalidate,
        };
        var daily = new VolumeSpec
        {
            Pool = pool.Name, Class = "nfs", SizeBytes = 16 << 20,
            Snapshots = new SnapshotsSpec { Schedule = [new() { Every = "1d", Keep = 2 }] },
        };
        await volumes.ReconcileAsync("v", 1, "h1", daily);
        string ds = pool.Root + "/v";

        var first = await scheduler.RunOnceAsync();
        Assert.Equal(ds + "@auto-1d-20261121T0000Z", Assert.Single(first.Taken).Snapshot);
        clock.Advance(TimeSpan.FromMinutes(5));
        // Nothing due until tomorrow: the listing is trusted, nothing is looked at.
        Assert.True((await scheduler.RunOnceAsync()).FromCache);

        var hourlyToo = new VolumeSpec
        {
            Pool = pool.Name, Class = "nfs", SizeBytes = 16 << 20,
            Snapshots = new SnapshotsSpec { Schedule = [new() { Every = "1d", Keep = 2 }, new() { Every = "1h", Keep = 2 }] },
        };
        await volumes.ReconcileAsync("v", 2, "h1", hourlyToo);
        clock.Advance(TimeSpan.FromMinutes(1));
        var next = await scheduler.RunOnceAsync();
        Assert.False(next.FromCache);
        Assert.Equal(ds + "@auto-1h-20261121T1000Z", Assert.Single(next.Taken).Snapshot);
        Assert.Equal(2L, next.Taken[0].Generation);

        // A delete invalidates too: the next pass lists again and finds no volume.
        await volumes.DeleteAsync("v", "h1", hourlyToo);
        clock.Advance(TimeSpan.FromMinutes(1));
        var afterDelete = await scheduler.RunOnceAsync();
        Assert.False(afterDelete.FromCache);
        Assert.Equal(0, afterDelete.Volumes);
    }
}
