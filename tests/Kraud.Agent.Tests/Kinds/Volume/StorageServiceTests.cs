using System.Text.Json.Nodes;
using Kraud.Agent.Kinds.Volume;
using Kraud.Zfs.Nfs;
using Kraud.Zfs.Schedule;
using Microsoft.Extensions.Logging;

namespace Kraud.Agent.Tests.Kinds.Volume;

/// <summary>The daemon's storage service with a stand-in pass loop: what it logs, what it amends, that it idles without ZFS and stops on time.</summary>
public class StorageServiceTests
{
    private static readonly ProbeResult NoZfs = new("zfs", false, false, "no zfs module for kernel 6.1.0-test");
    private static readonly ProbeResult Zfs = new("zfs", true, false, "zfs module loaded");

    /// <summary>Records what it is asked and says Amended.</summary>
    private sealed class RecordingAmender : IStatusAmender
    {
        public List<(string Kind, string Id, long Generation, JsonObject Observed)> Calls { get; } = [];

        public Task<AmendOutcome> AmendObservedAsync(string kind, string id, long generation, Func<JsonObject, bool> change, CancellationToken ct)
        {
            var o = new JsonObject();
            lock (Calls) if (change(o)) Calls.Add((kind, id, generation, o));
            return Task.FromResult(AmendOutcome.Amended);
        }
    }

    [Fact]
    public async Task WithoutZfsNothingRunsAndTheServiceSaysSoOnce()
    {
        var log = new CapturingLogger<StorageService>();
        bool exportsCalled = false, loopCalled = false;
        var service = new StorageService(NoZfs,
            _ => { exportsCalled = true; return Task.FromResult(new ExportsAtStart([], [])); },
            (_, _) => { loopCalled = true; return Task.CompletedTask; }, null, log);
        await service.StartAsync(default);
        await service.StopAsync(new CancellationTokenSource(TimeSpan.FromSeconds(5)).Token);
        Assert.False(exportsCalled);
        Assert.False(loopCalled);
        var line = Assert.Single(log.Lines);
        Assert.Contains("ZFS is not available (no zfs module for kernel 6.1.0-test)", line.Message);
    }

    [Fact]
    public async Task PassesAreLoggedPerVolumeStatusesAmendedAndStopEndsTheLoop()
    {
        var log = new CapturingLogger<StorageService>();
        var amender = new RecordingAmender();
        var loopEnded = new TaskCompletionSource();
        var created = new DateTimeOffset(2026, 11, 21, 20, 0, 1, TimeSpan.Zero);
        SnapshotPassLoop loop = async (onPass, ct) =>
        {
            // A quiet pass, a busy one with one volume's failure, then a handler that throws must not end the loop.
            await onPass(new SchedulerPassResult(2, 0, 0, [], FromCache: true), ct);
            await onPass(new SchedulerPassResult(2, 1, 3, [new SchedulerError("tank/kraud/broken", "snapshot tank/kraud/broken@auto-1h-20261121T2000Z: out of space")])
            {
                Taken = [new("tank/kraud/a", "a", 3, "tank/kraud/a@auto-1h-20261121T2000Z", created)],
            }, ct);
            try { await Task.Delay(Timeout.Infinite, ct); }
            finally { loopEnded.SetResult(); }
        };
        var service = new StorageService(Zfs, _ => Task.FromResult(new ExportsAtStart([], [])), loop,
            new SnapshotStatusUpdater(amender, log), log);
        await service.StartAsync(default);
        await Deadline.WaitUntilAsync(() => service.Passes == 2, TimeSpan.FromSeconds(10), "two passes");

        var error = Assert.Single(log.Lines, l => l.Level == LogLevel.Warning);
        Assert.Equal(("Volume", "broken"), (error.Scope["Kind"], error.Scope["Id"]));
        Assert.Contains("out of space", error.Message);
        var summary = Assert.Single(log.Lines, l => l.Message.StartsWith("snapshot pass", StringComparison.Ordinal));
        Assert.Equal("snapshot pass over 2 volumes: 1 taken, 3 pruned, 1 errors", summary.Message);
        Assert.Equal("Volume", summary.Scope["Kind"]);
        var taken = Assert.Single(log.Lines, l => l.Message == "snapshot tank/kraud/a@auto-1h-20261121T2000Z taken");
        Assert.Equal("a", taken.Scope["Id"]);

        var call = Assert.Single(amender.Calls);
        Assert.Equal(("Volume", "a", 3L), (call.Kind, call.Id, call.Generation));
        Assert.Equal("tank/kraud/a@auto-1h-20261121T2000Z", (string?)call.Observed["newestSnapshot"]!["name"]);
        Assert.Equal("2026-11-21T20:00:01Z", (string?)call.Observed["newestSnapshot"]!["createdAt"]);

        var stopping = System.Diagnostics.Stopwatch.StartNew();
        await service.StopAsync(new CancellationTokenSource(TimeSpan.FromSeconds(10)).Token);
        Assert.True(loopEnded.Task.IsCompleted);
        Assert.True(stopping.Elapsed < TimeSpan.FromSeconds(5), $"stop took {stopping.Elapsed}");
    }

    [Fact]
    public async Task ExportsAtStartAreLoggedAndTheirFailureDoesNotKeepTheTimerFromRunning()
    {
        var log = new CapturingLogger<StorageService>();
        var stale = new NfsExport("gone", "/tank/kraud/gone", NfsExport.FsidFor("gone"), [new NfsClient("127.0.0.1", "rw")]);
        var kept = stale with { VolumeId = "kept", Path = "/tank/kraud/kept" };
        int loops = 0;
        SnapshotPassLoop loop = async (_, ct) => { Interlocked.Increment(ref loops); await Task.Delay(Timeout.Infinite, ct); };

        var ok = new StorageService(Zfs, _ => Task.FromResult(new ExportsAtStart([kept], [stale])), loop, null, log);
        await ok.StartAsync(default);
        var dropped = Assert.Single(log.Lines, l => l.Level == LogLevel.Warning);
        Assert.Equal(("Volume", "gone"), (dropped.Scope["Kind"], dropped.Scope["Id"]));
        Assert.Contains("/tank/kraud/gone dropped at start", dropped.Message);
        Assert.Contains(log.Lines, l => l.Message == "NFS exports reconciled at start: 1 kept, 1 dropped");
        await Deadline.WaitUntilAsync(() => Volatile.Read(ref loops) == 1, TimeSpan.FromSeconds(10), "the timer to run");
        await ok.StopAsync(new CancellationTokenSource(TimeSpan.FromSeconds(5)).Token);

        var failing = new StorageService(Zfs, _ => throw new IOException("cannot apply /etc/exports.d/kraud.exports: /usr/sbin/exportfs is missing"), loop, null, log);
        await failing.StartAsync(default);
        Assert.Contains(log.Lines, l => l.Level == LogLevel.Error && l.Message.Contains("exportfs is missing", StringComparison.Ordinal));
        await Deadline.WaitUntilAsync(() => Volatile.Read(ref loops) == 2, TimeSpan.FromSeconds(10), "the timer to run after the failed exports reconcile");
        await failing.StopAsync(new CancellationTokenSource(TimeSpan.FromSeconds(5)).Token);
    }
}
