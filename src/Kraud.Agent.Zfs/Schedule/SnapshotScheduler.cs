using System.Collections.Concurrent;
using Kraud.Agent.Zfs.Names;

namespace Kraud.Agent.Zfs.Schedule;

/// <summary>The result of one scheduler pass.</summary>
public sealed record SchedulerPassResult(int Volumes, int Created, int Destroyed, IReadOnlyList<string> Errors, bool FromCache = false);

/// <summary>
/// The snapshot timer inside the agent. A pass lists every scheduled volume under the roots (one `zfs list`
/// each for datasets and snapshots), plans each volume, then takes all due snapshots of a pool and label in
/// one atomic lzc_snapshot and prunes each pool in one lzc_destroy_snaps. The clock is injected
/// (<see cref="TimeProvider"/>), so tests run a day in milliseconds.
/// </summary>
public sealed class SnapshotScheduler(ZfsApi zfs, TimeProvider clock, Func<CancellationToken, Task<IReadOnlyList<string>>> roots)
{
    private readonly ConcurrentDictionary<string, string> _newest = new(StringComparer.Ordinal);
    private readonly object _cacheLock = new();
    private DateTimeOffset? _listedAt, _nextDue;
    private int _cachedVolumes;

    /// <summary>Roots are `<pool>/kraud` of every imported pool that has one.</summary>
    public static SnapshotScheduler ForAllPools(ZfsApi zfs, TimeProvider clock) => new(zfs, clock, async ct =>
        (await zfs.Cli.ListPoolsAsync(ct).ConfigureAwait(false)).Select(p => p + "/kraud").Where(zfs.Exists).ToList());

    public TimeSpan Tick { get; init; } = TimeSpan.FromMinutes(1);

    /// <summary>
    /// How long a pass may trust the last listing when nothing is due (sanoid keeps its cache for 15 minutes
    /// likewise). Within it, a pass before the next due slot lists nothing. <see cref="Invalidate"/> ends it early.
    /// </summary>
    public TimeSpan CacheFor { get; init; } = TimeSpan.FromMinutes(15);

    /// <summary>Forgets the last listing: the daemon calls it after a Volume reconcile or delete (schedules may have changed).</summary>
    public void Invalidate()
    {
        lock (_cacheLock) { _listedAt = null; _nextDue = null; }
    }

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
        lock (_cacheLock)
            if (_listedAt is { } at && _nextDue is { } due && now < due && now >= at && now - at < CacheFor)
                return new SchedulerPassResult(_cachedVolumes, 0, 0, [], FromCache: true);
        var errors = new List<string>();
        DateTimeOffset? nextDue = null;
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
                    if (schedule.Rules.Count == 0) continue;
                    plans.Add(SnapshotPlanner.Plan(row[0], schedule, snaps[row[0]], now));
                    foreach (var rule in schedule.Rules)
                    {
                        var next = rule.SlotOf(now) + rule.Period;
                        if (nextDue is null || next < nextDue) nextDue = next;
                    }
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
        lock (_cacheLock)
        {
            // Only a clean pass is trusted; after an error the next pass lists again.
            _listedAt = errors.Count == 0 ? now : null;
            _nextDue = errors.Count == 0 ? nextDue ?? now + CacheFor : null;
            _cachedVolumes = plans.Count;
        }
        return new SchedulerPassResult(plans.Count, created, destroyed, errors);
    }

    private void UpdateNewest(string dataset, string? snapshot)
    {
        if (snapshot is null) _newest.TryRemove(dataset, out _);
        else _newest[dataset] = snapshot;
    }
}
