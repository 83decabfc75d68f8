using System.Threading.Channels;
using Kraud.Zfs.Schedule;

namespace Kraud.Zfs.Tests.Host;

/// <summary>The timer loop itself, on an injected clock with timers, with no pool: passes per tick, a failed pass reported, a clean stop.</summary>
public class SchedulerTimerTests
{
    [Fact]
    public async Task APassThatFailsWholeIsReportedAndTheNextTickRunsAgainUntilCancelled()
    {
        var clock = new TimerClock(new DateTimeOffset(2026, 11, 21, 10, 0, 20, TimeSpan.Zero));
        int calls = 0;
        var scheduler = new SnapshotScheduler(new ZfsApi(), clock, _ =>
            ++calls == 1 ? throw new IOException("zpool list exited 1: no pools here") : Task.FromResult<IReadOnlyList<string>>([]), new VolumeMarks("kraud:id", "kraud:generation", "kraud:host", "h1"));
        var passes = Channel.CreateUnbounded<(SchedulerPassResult Result, DateTimeOffset At)>();
        using var stop = new CancellationTokenSource();
        var loop = scheduler.RunAsync(async (r, ct) => { await Task.Yield(); passes.Writer.TryWrite((r, clock.GetUtcNow())); }, stop.Token);

        var first = await passes.Reader.ReadAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(30));
        Assert.Equal("zpool list exited 1: no pools here", Assert.Single(first.Result.Errors).Message);
        await Deadline.WaitUntilAsync(() => clock.Armed == 1, TimeSpan.FromSeconds(30), "the loop to wait for the next tick");
        Assert.False(passes.Reader.TryRead(out _));

        // 40 s later is the next minute boundary: exactly one pass, clean, not from the cache (the failure invalidated it).
        clock.Advance(TimeSpan.FromSeconds(40));
        var second = await passes.Reader.ReadAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(30));
        Assert.Empty(second.Result.Errors);
        Assert.False(second.Result.FromCache);
        Assert.Equal(new DateTimeOffset(2026, 11, 21, 10, 1, 0, TimeSpan.Zero), second.At);
        await Deadline.WaitUntilAsync(() => clock.Armed == 1, TimeSpan.FromSeconds(30), "the loop to wait again");

        // A clean pass with nothing scheduled is cached: the next tick answers from the cache, without calling roots.
        clock.Advance(TimeSpan.FromMinutes(1));
        var third = await passes.Reader.ReadAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(30));
        Assert.True(third.Result.FromCache);
        Assert.Equal(2, calls);
        await Deadline.WaitUntilAsync(() => clock.Armed == 1, TimeSpan.FromSeconds(30), "the loop to wait again");

        stop.Cancel();
        await loop.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal(0, clock.Armed);
    }
}
