using System.Collections.Concurrent;
using Kraud.Agent.Zfs.Names;

namespace Kraud.Agent.Zfs.Schedule;

/// <summary>The result of one scheduler pass.</summary>
public sealed record SchedulerPassResult(int Volumes, int Created, int Destroyed, IReadOnlyList<string> Errors);

/// <summary>
/// The snapshot timer inside the agent. A pass lists every scheduled volume under the roots (one `zfs list`
/// each for datasets and snapshots), plans each volume, then takes all due snapshots of a pool and label in
/// one atomic lzc_snapshot and prunes each pool in one lzc_destroy_snaps. The clock is injected
/// (<see cref="TimeProvider"/>), so tests run a day in milliseconds.
/// </summary>
public sealed class SnapshotScheduler(ZfsApi zfs, TimeProvider clock, Func<CancellationToken, Task<IReadOnlyList<string>>> roots)
{
    private readonly ConcurrentDictionary<string, string> _newest = new(StringComparer.Ordinal);

    /// <summary>Roots are `<pool>/kraud` of every imported pool that has one.</summary>
    public static SnapshotScheduler ForAllPools(ZfsApi zfs, TimeProvider clock) => new(zfs, clock, async ct =>
        (await zfs.Cli.ListPoolsAsync(ct).ConfigureAwait(false)).Select(p => p + "/kraud").Where(zfs.Exists).ToList());

    public TimeSpan Tick { get; init; } = TimeSpan.FromMinutes(1);

    /// <summary>The newest snapshot of a volume seen by the last pass (full name), or null.</summary>
    public string? NewestSnapshot(string dataset) => _newest.TryGetValue(dataset, out var s) ? s : null;

    /// <summary>Runs passes at every tick boundary until cancelled; a failed pass is reported and the next one tries again.</summary>
    public async Task RunAsync(Action<SchedulerPassResult>? onPass, CancellationToken ct)
    {
        while (!ct.IsCancellationRequested)
        {
            var result = await RunOnceAsync(ct).ConfigureAwait(false);
            onPass?.Invoke(result);
            var now = clock.GetUtcNow();
            long tick = (long)Tick.TotalMilliseconds;
            long ms = now.ToUnixTimeMilliseconds();
            var wait = TimeSpan.FromMilliseconds(tick - (ms % tick));
            await Task.Delay(wait, clock, ct).ConfigureAwait(false);
        }
    }

    public async Task<SchedulerPassResult> RunOnceAsync(CancellationToken ct = default)
    {
        var now = clock.GetUtcNow();
        var errors = new List<string>();
        var plans = new List<SnapshotPlan>();
        foreach (var root in await roots(ct).ConfigureAwait(false))
        {
            try
            {
                // One `zfs list` for volumes and snapshots together: each command costs a fork, an exec and a
                // walk of the tree, so a pass pays for it once per root, however many volumes there are.
                var rows = await zfs.Cli.ListAsync(root, "filesystem,volume,snapshot",
                    ["name", SnapshotSchedule.Property, "creation", "createtxg", "userrefs", ZfsApi.AutoProperty], ct: ct).ConfigureAwait(false);
                var snaps = rows.Where(r => r[0].Contains('@'))
                    .Select(r => ZfsApi.Parse([r[0], r[2], r[3], r[4], r[5]]))
                    .OrderBy(s => s.CreateTxg).ToLookup(s => s.Dataset);
                foreach (var row in rows.Where(r => !r[0].Contains('@')))
                {
                    var schedule = SnapshotSchedule.FromProperty(row[1]);
                    UpdateNewest(row[0], snaps[row[0]].LastOrDefault()?.Name);
                    if (schedule.Rules.Count > 0) plans.Add(SnapshotPlanner.Plan(row[0], schedule, snaps[row[0]], now));
                }
            }
            catch (Exception e) when (e is ZfsException or IOException or FormatException)
            {
                errors.Add(e.Message);
            }
        }

        int created = 0, destroyed = 0;
        foreach (var batch in plans.SelectMany(p => p.Create).GroupBy(c => (Pool: ZfsNames.PoolOf(c.Snapshot), c.Label)))
        {
            var names = batch.Select(b => b.Snapshot).ToList();
            try
            {
                zfs.Snapshot(names, new Dictionary<string, string> { [ZfsApi.AutoProperty] = batch.Key.Label });
                created += names.Count;
                foreach (var n in names) _newest[ZfsNames.DatasetOf(n)] = n;
            }
            catch (ZfsException e) { errors.Add(e.Message); }
        }
        foreach (var batch in plans.SelectMany(p => p.Destroy).GroupBy(ZfsNames.PoolOf))
        {
            var names = batch.ToList();
            try
            {
                zfs.DestroySnapshots(names);
                destroyed += names.Count;
            }
            catch (ZfsException e) { errors.Add(e.Message); }
        }
        return new SchedulerPassResult(plans.Count, created, destroyed, errors);
    }

    private void UpdateNewest(string dataset, string? snapshot)
    {
        if (snapshot is null) _newest.TryRemove(dataset, out _);
        else _newest[dataset] = snapshot;
    }
}
