using Kraud.Agent.Kinds.Volume;
using Kraud.Agent.Kinds.Volume.Replication;

namespace Kraud.Agent.Tests.Kinds.Volume.Replication;

/// <summary>The schedule over a simulated day and handovers both ways, between two namespaces and pools in the kernel lane.</summary>
[Collection("zfs-lane"), Trait("lane", "kernel"), Trait("feature", "replication")]
public class ReplicationScheduleLaneTests
{
    private static readonly DateTimeOffset Start = new(2026, 12, 5, 0, 0, 0, TimeSpan.Zero);

    [Fact]
    public async Task ASimulatedDayKeepsLagUnderEveryPlusATickAndFourSnapshotsEachSideDespiteHandDeletedOnes()
    {
        var tick = TimeSpan.FromMinutes(15);
        await using var p = await ReplicationLanePair.CreateAsync(Start, tick);
        string src = p.PoolA.Root + "/v1", dst = p.PoolB.Root + "/v1";
        await p.VolumesB.ReconcileAsync("v1", 1, "h2", p.ReplicaSpec(p.PoolB.Name));
        await p.VolumesA.ReconcileAsync("v1", 1, "h1", p.SourceSpec(every: "1h", keep: 4));
        using var stop = new CancellationTokenSource();
        var loop = p.ScheduleA.RunAsync(stop.Token);
        long maxLag = 0;
        for (int i = 0; i <= 96; i++)
        {
            if (i > 0) p.Clock.Advance(tick);
            await Deadline.WaitUntilAsync(() => p.ScheduleA.Passes == i + 1 && p.Clock.Armed == 1, TimeSpan.FromMinutes(3), $"pass {i} of the simulated day");
            var t = Assert.Single(p.ScheduleA.StatusOf("v1"));
            Assert.True(t.Error is null, $"pass {i}: {t.Error}");
            long lag = ReplicationSchedule.LagSeconds(t, p.Clock.GetUtcNow())!.Value;
            maxLag = Math.Max(maxLag, lag);
            Assert.True(lag <= 3600 + tick.TotalSeconds, $"pass {i}: lag {lag} s is more than every + one tick");
            if (i % 4 == 2) ReplicationLanePair.WriteRandom($"/{src}/f{i}", 256 << 10);
            if (i == 48)
            {
                // By hand: the oldest replication snapshot (not a target's base) goes.
                var oldest = (await p.Zfs.ListSnapshotsAsync(src)).First(s => s.ShortName.StartsWith("repl-", StringComparison.Ordinal) && !s.Held);
                await TestZpool.Zfs("destroy", oldest.Name);
            }
            if (i == 72)
            {
                // By hand: the held base itself (released first). The next pass finds the newest common one, and
                // the replica, which has the lost snapshot, goes back to that base before the incremental.
                var held = (await p.Zfs.ListSnapshotsAsync(src)).Last(s => s.Held);
                await TestZpool.Zfs("release", "kraud-repl-h2", held.Name);
                await TestZpool.Zfs("destroy", held.Name);
            }
        }
        stop.Cancel();
        await loop;
        Assert.InRange(maxLag, 2700, 4500); // the lag really grew between passes: the bound above was tested
        var srcRepl = (await p.Zfs.ListSnapshotsAsync(src)).Where(s => s.ShortName.StartsWith("repl-", StringComparison.Ordinal)).Select(s => s.ShortName).ToList();
        var dstRepl = (await p.Zfs.ListSnapshotsAsync(dst)).Where(s => s.ShortName.StartsWith("repl-", StringComparison.Ordinal)).Select(s => s.ShortName).ToList();
        // The pass after the hand-deleted base (18:15) found the newest snapshot an hour old and took one: the hours shift by 15 minutes.
        Assert.Equal(["repl-20261205T201500Z", "repl-20261205T211500Z", "repl-20261205T221500Z", "repl-20261205T231500Z"], srcRepl);
        Assert.Equal(srcRepl, dstRepl);
        var guidsA = await p.GuidsAsync(src);
        foreach (var (name, guid) in await p.GuidsAsync(dst)) Assert.Equal(guidsA[name], guid);
        Assert.Equal(await p.SnapshotTreeHashAsync($"{src}@repl-20261205T231500Z"), await p.SnapshotTreeHashAsync($"{dst}@repl-20261205T231500Z"));
        Assert.Equal(0, p.ScheduleA.VolumesBehindRpo());
    }

    [Fact]
    public async Task AVolumeWhoseTargetIsUnreachableIsBehindItsRpoAndCatchesUpInOnePass()
    {
        await using var p = await ReplicationLanePair.CreateAsync(Start);
        string src = p.PoolA.Root + "/v1";
        await p.VolumesB.ReconcileAsync("v1", 1, "h2", p.ReplicaSpec(p.PoolB.Name));
        await p.VolumesA.ReconcileAsync("v1", 1, "h1", p.SourceSpec(every: "1h"));
        await p.ScheduleA.PassAsync(CancellationToken.None);
        // The target stops listening for three hours: passes fail, the lag grows past 2 × every.
        var unreachable = p.SourceSpec(every: "1h", targetAddress: "[fd00:99::2]:7371");
        await p.VolumesA.ReconcileAsync("v1", 2, "h1", unreachable);
        for (int h = 1; h <= 3; h++)
        {
            p.Clock.Advance(TimeSpan.FromHours(1));
            await p.ScheduleA.PassAsync(CancellationToken.None);
        }
        var failing = Assert.Single(p.ScheduleA.StatusOf("v1"));
        Assert.Equal(("failing", "repl-20261205T000000Z"), (failing.State, failing.LastSnapshot));
        Assert.NotNull(failing.Error);
        Assert.Equal(1, p.ScheduleA.VolumesBehindRpo());
        var observed = await p.VolumesA.ReconcileAsync("v1", 2, "h1", unreachable);
        Assert.Equal(10800, observed["replication"]![0]!["lagSeconds"]!.GetValue<long>());
        Assert.Equal("failing", observed["replication"]![0]!["state"]!.GetValue<string>());

        // Reachable again: the next pass sends the newest snapshot at once.
        await p.VolumesA.ReconcileAsync("v1", 3, "h1", p.SourceSpec(every: "1h"));
        p.Clock.Advance(TimeSpan.FromMinutes(5));
        await p.ScheduleA.PassAsync(CancellationToken.None);
        var caught = Assert.Single(p.ScheduleA.StatusOf("v1"));
        Assert.Equal(("idle", "repl-20261205T030000Z"), (caught.State, caught.LastSnapshot));
        Assert.Equal(0, p.ScheduleA.VolumesBehindRpo());
        Assert.Equal(ReplicationLanePair.TreeHash($"/{src}"), await p.SnapshotTreeHashAsync($"{p.PoolB.Root}/v1@repl-20261205T030000Z"));
    }

    [Fact, Trait("feature", "handover")]
    public async Task HandoverMovesOwnershipBothWaysOncePerRequestId()
    {
        await using var p = await ReplicationLanePair.CreateAsync(Start);
        string a = p.PoolA.Root + "/v1", b = p.PoolB.Root + "/v1";
        await p.VolumesB.ReconcileAsync("v1", 1, "h2", p.ReplicaSpec(p.PoolB.Name));
        await p.VolumesA.ReconcileAsync("v1", 1, "h1", p.SourceSpec());
        ReplicationLanePair.WriteRandom($"/{a}/before", 2 << 20);
        await p.ScheduleA.PassAsync(CancellationToken.None);
        ReplicationLanePair.WriteRandom($"/{a}/after", 1 << 20); // written after the last pass: the final send carries it
        string treeA = ReplicationLanePair.TreeHash($"/{a}");

        p.Clock.Advance(TimeSpan.FromMinutes(20));
        var handover = p.SourceSpec(handover: new HandoverSpec { To = "h2", RequestId = "m-9" });
        var o = await p.VolumesA.ReconcileAsync("v1", 2, "h1", handover);
        Assert.Equal(("m-9", "h2", "repl-20261205T002000Z"), (o["handedOver"]!["requestId"]!.GetValue<string>(), o["handedOver"]!["to"]!.GetValue<string>(), o["handedOver"]!["snapshot"]!.GetValue<string>()));
        Assert.Equal((await p.GuidsAsync(b))["repl-20261205T002000Z"], o["handedOver"]!["guid"]!.GetValue<string>());
        Assert.Equal(("on", "no", "h2"), (await p.PropAsync(a, "readonly"), await p.PropAsync(a, "mounted"), await p.PropAsync(a, ReplicationNames.ReplicaOfProperty)));
        // Once per requestId: the same spec again takes no new snapshot and sends nothing.
        int snapshots = (await p.Zfs.ListSnapshotsAsync(a)).Count;
        p.Clock.Advance(TimeSpan.FromMinutes(1));
        var again = await p.VolumesA.ReconcileAsync("v1", 2, "h1", handover);
        Assert.Equal("m-9", again["handedOver"]!["requestId"]!.GetValue<string>());
        Assert.Equal(snapshots, (await p.Zfs.ListSnapshotsAsync(a)).Count);

        // h2 becomes the source: writable, mounted, the data h1 had at the handover.
        var bObserved = await p.VolumesB.ReconcileAsync("v1", 2, "h2", p.SourceSpec(pool: p.PoolB.Name, targetHost: "h1", targetAddress: ReplicationLanePair.ListenA));
        Assert.Equal(("off", "yes", "-"), (await p.PropAsync(b, "readonly"), await p.PropAsync(b, "mounted"), await p.PropAsync(b, ReplicationNames.ReplicaOfProperty)));
        Assert.True(bObserved["mounted"]!.GetValue<bool>());
        Assert.Equal(treeA, ReplicationLanePair.TreeHash($"/{b}"));

        // h1 as h2's replica: what h2 writes comes back.
        await p.VolumesA.ReconcileAsync("v1", 3, "h1", p.ReplicaSpec(p.PoolA.Name, source: "h2"));
        ReplicationLanePair.WriteRandom($"/{b}/on-h2", 1 << 20);
        p.Clock.Advance(TimeSpan.FromHours(1));
        await p.B.Schedule.PassAsync(CancellationToken.None);
        var back = Assert.Single(p.B.Schedule.StatusOf("v1"));
        Assert.True(back.Error is null, back.Error);
        Assert.Equal(("h1", "idle"), (back.Host, back.State));
        Assert.Equal(ReplicationLanePair.TreeHash($"/{b}"), await p.SnapshotTreeHashAsync($"{a}@{back.LastSnapshot}"));

        // And back again: h2 hands over to h1, h1 becomes the source with everything h2 wrote.
        ReplicationLanePair.WriteRandom($"/{b}/last", 1 << 20);
        string treeB = ReplicationLanePair.TreeHash($"/{b}");
        p.Clock.Advance(TimeSpan.FromMinutes(10));
        var toA = p.SourceSpec(pool: p.PoolB.Name, targetHost: "h1", targetAddress: ReplicationLanePair.ListenA, handover: new HandoverSpec { To = "h1", RequestId = "m-10" });
        var handedBack = await p.VolumesB.ReconcileAsync("v1", 3, "h2", toA);
        Assert.Equal("m-10", handedBack["handedOver"]!["requestId"]!.GetValue<string>());
        Assert.Equal(("on", "no"), (await p.PropAsync(b, "readonly"), await p.PropAsync(b, "mounted")));
        await p.VolumesA.ReconcileAsync("v1", 4, "h1", p.SourceSpec());
        Assert.Equal(("off", "yes"), (await p.PropAsync(a, "readonly"), await p.PropAsync(a, "mounted")));
        Assert.Equal(treeB, ReplicationLanePair.TreeHash($"/{a}"));
    }
}
