using Microsoft.Extensions.Time.Testing;
using Kraud.Zfs.Schedule;

namespace Kraud.Zfs.Tests.Host;

/// <summary>The scheduler's listing cache, against a stand-in `zfs` that prints a fixed listing and counts its calls.</summary>
public class SchedulerCacheTests
{
    [Fact]
    public async Task NothingIsListedUntilTheNextSlotIsDueOrTheCacheIsInvalidated()
    {
        using var dir = new TempDir("kraud-sched");
        string calls = dir.File("calls");
        // w is another host's volume (kraud:host h2) in the same pool: listed, never counted, snapshotted or pruned.
        string listing = "tank/kraud\t-\t1\t1\t-\t-\t-\t-\t-\n" +
                         "tank/kraud/v\t1h=2\t1\t2\t-\t-\tv\t1\th1\n" +
                         "tank/kraud/v@auto-1h-20261121T2000Z\t1h=2\t1\t3\t0\t1h\tv\t1\th1\n" +
                         "tank/kraud/w\t1h=2\t1\t4\t-\t-\tw\t1\th2\n";
        dir.Write("listing", listing);
        string fake = dir.Write("zfs", $"#!/bin/sh\necho \"$@\" >> {calls}\ncat {dir.File("listing")}\n");
        File.SetUnixFileMode(fake, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        var zfs = new ZfsApi(new ZfsCli { ZfsPath = fake });
        var clock = new FakeTimeProvider(new DateTimeOffset(2026, 11, 21, 20, 30, 0, TimeSpan.Zero));
        var scheduler = new SnapshotScheduler(zfs, clock, _ => Task.FromResult<IReadOnlyList<string>>(["tank/kraud"]), new VolumeMarks("kraud:id", "kraud:generation", "kraud:host", "h1"));
        int Calls() => File.Exists(calls) ? File.ReadAllLines(calls).Length : 0;

        var first = await scheduler.RunOnceAsync();
        Assert.Equal((1, 0, 0, false), (first.Volumes, first.Created, first.Destroyed, first.FromCache));
        Assert.Empty(first.Errors);
        Assert.Equal(1, Calls());
        Assert.Contains("list -H -p -o name,kraud:schedule,creation,createtxg,userrefs,kraud:auto,kraud:id,kraud:generation,kraud:host -t filesystem,volume,snapshot -r tank/kraud", File.ReadAllText(calls));
        Assert.Equal("tank/kraud/v@auto-1h-20261121T2000Z", scheduler.NewestSnapshot("tank/kraud/v"));

        clock.Advance(TimeSpan.FromMinutes(10));
        var cached = await scheduler.RunOnceAsync();
        Assert.True(cached.FromCache);
        Assert.Equal(1, cached.Volumes);
        Assert.Equal(1, Calls());

        scheduler.Invalidate();
        Assert.False((await scheduler.RunOnceAsync()).FromCache);
        Assert.Equal(2, Calls());

        // 21:00 is due: the pass lists again and tries to take the snapshot (there is no pool 'tank': the error is reported, not thrown).
        clock.SetUtcNow(new DateTimeOffset(2026, 11, 21, 21, 0, 5, TimeSpan.Zero));
        var due = await scheduler.RunOnceAsync();
        Assert.Equal(3, Calls());
        Assert.False(due.FromCache);
        Assert.NotEmpty(due.Errors);
        Assert.Contains("tank/kraud/v@auto-1h-20261121T2100Z", string.Join(" ", due.Errors));
        // After a failed pass nothing is cached: the next one lists again.
        await scheduler.RunOnceAsync();
        Assert.Equal(4, Calls());
    }
}
