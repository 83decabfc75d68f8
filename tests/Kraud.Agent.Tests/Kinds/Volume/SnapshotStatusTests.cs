using System.Text.Json.Nodes;
using Kraud.Agent.Kinds.Volume;
using Kraud.Agent.Tests.ControlPlane;
using Kraud.Zfs.Schedule;
using Microsoft.Extensions.Logging.Abstractions;

namespace Kraud.Agent.Tests.Kinds.Volume;

/// <summary>
/// The status side of a snapshot pass, against a real nats-server and KRAUD_STATUS: the newest snapshot lands in
/// observed with generation and phase kept, and never on a status of another generation, even in a race.
/// </summary>
public sealed class SnapshotStatusTests : StatusBucketTestBase
{
    private StatusWriter Writer() => new(Bucket, TimeProvider.System, NullLogger<StatusWriter>.Instance);

    private static ResourceStatus Status(string id, long generation, string phase, JsonObject? observed = null) => new()
    {
        Host = "h1", Kind = "Volume", Id = id, Generation = generation, Phase = phase, Attempts = 1,
        Observed = observed ?? new JsonObject { ["dataset"] = $"tank/kraud/{id}", ["newestSnapshot"] = null },
    };

    private async Task<(ResourceStatus Status, ulong Revision)> ReadAsync(string id)
    {
        var e = await Bucket.GetEntryAsync($"h1.volume.{id}", serializer: Serializers.Status);
        return (e.Value!, e.Revision);
    }

    /// <summary>The engine's side of the seam, as ControlPlaneService gives it: the host's own status writer.</summary>
    private sealed class Amender(StatusWriter writer) : IStatusAmender
    {
        public Task<AmendOutcome> AmendObservedAsync(string kind, string id, long generation, Func<JsonObject, bool> change, CancellationToken ct) =>
            writer.AmendObservedAsync("h1", kind, id, generation, change, ct);
    }

    [Fact]
    public async Task APassPutsTheNewestSnapshotIntoReadyStatusesOfItsGenerationOnly()
    {
        var engine = Writer();
        await engine.WriteAsync(Status("a", 3, ResourceStatus.Ready), default);
        await engine.WriteAsync(Status("newer", 5, ResourceStatus.Ready), default);
        await engine.WriteAsync(Status("failed", 2, ResourceStatus.Failed), default);
        var created = new DateTimeOffset(2026, 11, 21, 20, 0, 1, TimeSpan.Zero);
        var pass = new SchedulerPassResult(4, 4, 0, [])
        {
            Taken =
            [
                new("tank/kraud/a", "a", 3, "tank/kraud/a@auto-1h-20261121T2000Z", created),
                new("tank/kraud/newer", "newer", 4, "tank/kraud/newer@auto-1h-20261121T2000Z", created),
                new("tank/kraud/failed", "failed", 2, "tank/kraud/failed@auto-1h-20261121T2000Z", created),
                new("tank/kraud/absent", "absent", 1, "tank/kraud/absent@auto-1h-20261121T2000Z", created),
                new("tank/other", null, null, "tank/other@auto-1h-20261121T2000Z", created),
            ],
        };
        var (newerBefore, newerRev) = await ReadAsync("newer");
        var (_, failedRev) = await ReadAsync("failed");

        var updater = new SnapshotStatusUpdater(new Amender(engine), NullLogger.Instance);
        Assert.Equal(1, await updater.UpdateAsync(pass, default));

        var (a, _) = await ReadAsync("a");
        Assert.Equal((3L, ResourceStatus.Ready, "tank/kraud/a"), (a.Generation, a.Phase, (string?)a.Observed["dataset"]));
        Assert.Equal("tank/kraud/a@auto-1h-20261121T2000Z", (string?)a.Observed["newestSnapshot"]!["name"]);
        Assert.Equal("2026-11-21T20:00:01Z", (string?)a.Observed["newestSnapshot"]!["createdAt"]);
        Assert.Equal(newerRev, (await ReadAsync("newer")).Revision);
        Assert.Equal(newerBefore.Generation, (await ReadAsync("newer")).Status.Generation);
        Assert.Equal(failedRev, (await ReadAsync("failed")).Revision);
        Assert.Null(await Bucket.GetOrNullAsync("h1.volume.absent", Serializers.Status));

        // The same pass again changes nothing (no write), and the engine's next write after an amend still lands.
        var (_, aRev) = await ReadAsync("a");
        Assert.Equal(0, await updater.UpdateAsync(pass, default));
        Assert.Equal(aRev, (await ReadAsync("a")).Revision);
        await engine.WriteAsync(Status("a", 4, ResourceStatus.Progressing), default);
        Assert.Equal((4L, ResourceStatus.Progressing), ((await ReadAsync("a")).Status.Generation, (await ReadAsync("a")).Status.Phase));
    }

    [Fact]
    public async Task AWriteBetweenReadAndUpdateIsReadAgainAndANewerGenerationIsLeftAlone()
    {
        var engine = Writer();
        var timer = Writer();
        await engine.WriteAsync(Status("a", 3, ResourceStatus.Ready), default);

        // The engine writes generation 4 right after the amend read generation 3: the compare-and-set fails, the
        // amend reads again, sees 4 and leaves it.
        int calls = 0;
        var outcome = await timer.AmendObservedAsync("h1", "Volume", "a", 3, observed =>
        {
            if (++calls == 1) engine.WriteAsync(Status("a", 4, ResourceStatus.Ready, new JsonObject { ["dataset"] = "v4" }), default).GetAwaiter().GetResult();
            observed["newestSnapshot"] = new JsonObject { ["name"] = "tank/kraud/a@x" };
            return true;
        }, default);
        Assert.Equal(AmendOutcome.OtherGeneration, outcome);
        Assert.Equal(1, calls);
        var (after, _) = await ReadAsync("a");
        Assert.Equal(4L, after.Generation);
        Assert.Equal("v4", (string?)after.Observed["dataset"]);
        Assert.Null(after.Observed["newestSnapshot"]);

        // A write of the same generation in between (the engine re-reporting) is merged: the amend goes on top.
        calls = 0;
        outcome = await timer.AmendObservedAsync("h1", "Volume", "a", 4, observed =>
        {
            if (++calls == 1) engine.WriteAsync(Status("a", 4, ResourceStatus.Ready, new JsonObject { ["dataset"] = "v4", ["usedBytes"] = 7 }), default).GetAwaiter().GetResult();
            observed["newestSnapshot"] = new JsonObject { ["name"] = "tank/kraud/a@y" };
            return true;
        }, default);
        Assert.Equal(AmendOutcome.Amended, outcome);
        Assert.Equal(2, calls);
        (after, _) = await ReadAsync("a");
        Assert.Equal((4L, ResourceStatus.Ready, 7L), (after.Generation, after.Phase, (long?)after.Observed["usedBytes"]));
        Assert.Equal("tank/kraud/a@y", (string?)after.Observed["newestSnapshot"]!["name"]);
    }
}
