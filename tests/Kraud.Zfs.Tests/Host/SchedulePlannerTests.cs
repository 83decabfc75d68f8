using Kraud.Zfs.Schedule;

namespace Kraud.Zfs.Tests.Host;

public class SchedulePlannerTests
{
    private const string Ds = "tank/kraud/v1";
    private static readonly SnapshotSchedule HourlyDaily = new([new ScheduleRule("1h", 24), new ScheduleRule("1d", 7)]);

    [Theory]
    [InlineData("15m", 15)]
    [InlineData("1h", 60)]
    [InlineData("2d", 2880)]
    [InlineData("1w", 10080)]
    public void ParsesEvery(string every, int minutes) => Assert.Equal(TimeSpan.FromMinutes(minutes), ScheduleRule.ParsePeriod(every));

    [Theory]
    [InlineData("0h")]
    [InlineData("1")]
    [InlineData("h")]
    [InlineData("1y")]
    [InlineData("01h")]
    [InlineData("1h ")]
    [InlineData("-1h")]
    public void RejectsBadEvery(string every) => Assert.NotNull(new ScheduleRule(every, 1).Problem());

    [Fact]
    public void RejectsBadKeep()
    {
        Assert.Contains("keep 0", new ScheduleRule("1h", 0).Problem());
        Assert.Null(new ScheduleRule("1h", 1).Problem());
    }

    [Fact]
    public void NamesAreUtcSlotStarts()
    {
        var now = new DateTimeOffset(2026, 11, 21, 20, 37, 12, TimeSpan.FromHours(2));
        var slot = new ScheduleRule("1h", 1).SlotOf(now);
        Assert.Equal("auto-1h-20261121T1800Z", SnapshotSchedule.SnapshotName("1h", slot));
        Assert.True(SnapshotSchedule.TryParseName("auto-1h-20261121T1800Z", out var every, out var t));
        Assert.Equal("1h", every);
        Assert.Equal(slot, t);
        Assert.False(SnapshotSchedule.TryParseName("user-auto-1h-20261121T1800Z", out _, out _));
        Assert.False(SnapshotSchedule.TryParseName("auto-1x-20261121T1800Z", out _, out _));
    }

    [Fact]
    public void PropertyRoundTrips()
    {
        Assert.Equal("1h=24,1d=7", HourlyDaily.ToProperty());
        Assert.Equal(HourlyDaily.Rules, SnapshotSchedule.FromProperty("1h=24,1d=7").Rules);
        Assert.Empty(SnapshotSchedule.FromProperty("-").Rules);
        Assert.Single(SnapshotSchedule.FromProperty("1h=24,bogus,1q=3").Rules);
    }

    [Fact]
    public void ASimulatedDayKeepsTheNewestAndSparesHeldAndForeign()
    {
        // Time moves in 10-minute steps for 2 days; the "pool" is a list the plans are applied to.
        var start = new DateTimeOffset(2026, 11, 21, 0, 5, 0, TimeSpan.Zero);
        ulong txg = 1;
        var snaps = new List<ZfsSnapshotInfo>
        {
            new($"{Ds}@auto-1h-20261120T0000Z", 0, txg++, 0, ""),      // foreign: our prefix, not our property
            new($"{Ds}@before-upgrade", 0, txg++, 0, ""),             // a user's own
            new($"{Ds}@auto-1h-20261120T0100Z", 0, txg++, 1, "1h"),    // ours but held
        };
        int created = 0;
        for (var now = start; now < start.AddDays(2); now = now.AddMinutes(10))
        {
            var plan = SnapshotPlanner.Plan(Ds, HourlyDaily, snaps, now);
            foreach (var (name, label) in plan.Create) { snaps.Add(new(name, now.ToUnixTimeSeconds(), txg++, 0, label)); created++; }
            snaps.RemoveAll(s => plan.Destroy.Contains(s.Name));
            Assert.DoesNotContain(plan.Destroy, n => n.EndsWith("@before-upgrade") || n.EndsWith("T0000Z") && n.Contains("20261120"));
            // A second plan at the same instant does nothing: the pass is idempotent.
            var again = SnapshotPlanner.Plan(Ds, HourlyDaily, snaps, now);
            Assert.Empty(again.Create);
            Assert.Empty(again.Destroy);
        }
        Assert.Equal(48 + 2, created);
        var hourly = snaps.Where(s => s.AutoTag == "1h" && !s.Held).Select(s => s.ShortName).ToList();
        Assert.Equal(24, hourly.Count);
        Assert.Equal("auto-1h-20261122T2300Z", hourly[^1]);
        Assert.Equal("auto-1h-20261122T0000Z", hourly[0]);
        Assert.Equal(2, snaps.Count(s => s.AutoTag == "1d"));
        Assert.Contains(snaps, s => s.ShortName == "auto-1h-20261120T0100Z");
        Assert.Contains(snaps, s => s.ShortName == "auto-1h-20261120T0000Z");
        Assert.Contains(snaps, s => s.ShortName == "before-upgrade");
    }
}
