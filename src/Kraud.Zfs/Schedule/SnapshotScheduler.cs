using System.Collections.Concurrent;
using System.Globalization;
using Kraud.Zfs.Names;

namespace Kraud.Zfs.Schedule;

/// <summary>
/// The snapshot timer (sanoid's job, in process). A pass lists every scheduled volume under the roots (one `zfs list`
/// each for datasets and snapshots), plans each volume, then takes all due snapshots of a pool and label in
/// one atomic lzc_snapshot and prunes each pool in one lzc_destroy_snaps. The clock is injected
/// (<see cref="TimeProvider"/>), so tests run a day in milliseconds.
/// </summary>
/// <param name="roots">The datasets whose children are the volumes to snapshot, listed afresh each pass.</param>
/// <param name="marks">What makes a child of a root one of this scheduler's volumes (its id and owner marks).</param>
public sealed class SnapshotScheduler(ZfsApi zfs, TimeProvider clock, Func<CancellationToken, Task<IReadOnlyList<string>>> roots, VolumeMarks marks)
{
    private readonly ConcurrentDictionary<string, string> _newest = new(StringComparer.Ordinal);
    private readonly object _cacheLock = new();
    private DateTimeOffset? _listedAt, _nextDue;
    private int _cachedVolumes;
    // Bumped by Invalidate: a pass that listed before an invalidation must not cache what it listed.
    private long _epoch;

    public TimeSpan Tick { get; init; } = TimeSpan.FromMinutes(1);

    /// <summary>
    /// How long a pass may trust the last listing when nothing is due (sanoid keeps its cache for 15 minutes
    /// likewise). Within it, a pass before the next due slot lists nothing. <see cref="Invalidate"/> ends it early.
    /// </summary>
    public TimeSpan CacheFor { get; init; } = TimeSpan.FromMinutes(15);

    /// <summary>Forgets the last listing: the daemon calls it after a Volume reconcile or delete (schedules may have changed).</summary>
    public void Invalidate()
    {
        lock (_cacheLock) { _listedAt = null; _nextDue = null; _epoch++; }
    }

    /// <summary>The newest snapshot of a volume seen by the last pass (full name), or null.</summary>
    public string? NewestSnapshot(string dataset) => _newest.TryGetValue(dataset, out var s) ? s : null;

    /// <summary>
    /// Only the agent's volumes are snapshotted and pruned: &lt;root&gt;/&lt;id&gt; whose id property is that id and whose owner
    /// property is this host. A dataset that merely has a schedule (set by hand) or inherits one (a child of a volume,
    /// whose inherited id property is its parent's, not its own name), or a volume of another host, is left alone.
    /// </summary>
    private bool IsVolumeOf(string root, string dataset, string id, string owner) =>
        dataset.Length > root.Length + 1 && dataset.StartsWith(root + "/", StringComparison.Ordinal)
        && dataset.AsSpan(root.Length + 1).SequenceEqual(id) && id != "-" && owner != "-" && owner == marks.Owner;

    /// <summary>
    /// Runs passes at every tick boundary until cancelled. A pass that fails as a whole (no pool list, a command
    /// that cannot start) is reported as a result with its error; the next tick tries again. <paramref name="onPass"/>
    /// runs before the wait, so a slow reaction delays the next pass instead of overlapping it.
    /// </summary>
    public async Task RunAsync(Func<SchedulerPassResult, CancellationToken, Task>? onPass, CancellationToken ct)
    {
        while (!ct.IsCancellationRequested)
        {
            SchedulerPassResult result;
            try
            {
                result = await RunOnceAsync(ct).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e) when (e is IOException or TimeoutException or FormatException or InvalidOperationException or DllNotFoundException)
            {
                Invalidate();
                result = new SchedulerPassResult(0, 0, 0, [new SchedulerError(null, e.Message)]);
            }
            if (onPass is not null) await onPass(result, ct).ConfigureAwait(false);
            var now = clock.GetUtcNow();
            long tick = (long)Tick.TotalMilliseconds;
            long ms = now.ToUnixTimeMilliseconds();
            var wait = TimeSpan.FromMilliseconds(tick - (ms % tick));
            try
            {
                await Task.Delay(wait, clock, ct).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested)
            {
                return;
            }
        }
    }

    public async Task<SchedulerPassResult> RunOnceAsync(CancellationToken ct = default)
    {
        var now = clock.GetUtcNow();
        long epoch;
        lock (_cacheLock)
        {
            epoch = _epoch;
            if (_listedAt is { } at && _nextDue is { } due && now < due && now >= at && now - at < CacheFor)
                return new SchedulerPassResult(_cachedVolumes, 0, 0, [], FromCache: true);
        }
        var errors = new List<SchedulerError>();
        var owners = new Dictionary<string, (string? Id, long? Generation)>(StringComparer.Ordinal);
        DateTimeOffset? nextDue = null;
        var plans = new List<SnapshotPlan>();
        foreach (var root in await roots(ct).ConfigureAwait(false))
        {
            try
            {
                // One `zfs list` for volumes and snapshots together: each command costs a fork, an exec and a
                // walk of the tree, so a pass pays for it once per root, however many volumes there are.
                var rows = await zfs.Cli.ListAsync(root, "filesystem,volume,snapshot",
                    ["name", SnapshotSchedule.Property, "creation", "createtxg", "userrefs", ZfsApi.AutoProperty, marks.IdProperty, marks.GenerationProperty, marks.OwnerProperty], ct: ct).ConfigureAwait(false);
                var snaps = rows.Where(r => r[0].Contains('@'))
                    .Select(r => ZfsApi.Parse([r[0], r[2], r[3], r[4], r[5]]))
                    .OrderBy(s => s.CreateTxg).ToLookup(s => s.Dataset);
                foreach (var row in rows.Where(r => !r[0].Contains('@')))
                {
                    var schedule = SnapshotSchedule.FromProperty(row[1]);
                    UpdateNewest(row[0], snaps[row[0]].LastOrDefault()?.Name);
                    if (schedule.Rules.Count == 0 || !IsVolumeOf(root, row[0], row[6], row[8])) continue;
                    owners[row[0]] = (row[6] == "-" ? null : row[6],
                        long.TryParse(row[7], NumberStyles.Integer, CultureInfo.InvariantCulture, out long g) ? g : null);
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
                errors.Add(new SchedulerError(root, e.Message));
            }
        }

        int created = 0, destroyed = 0;
        var taken = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var batch in plans.SelectMany(p => p.Create).GroupBy(c => (Pool: ZfsNames.PoolOf(c.Snapshot), c.Label)))
        {
            var props = new Dictionary<string, string> { [ZfsApi.AutoProperty] = batch.Key.Label };
            foreach (var n in Batched(batch.Select(b => b.Snapshot).ToList(), names => zfs.Snapshot(names, props), errors))
            {
                created++;
                taken[ZfsNames.DatasetOf(n)] = n;
                _newest[ZfsNames.DatasetOf(n)] = n;
            }
        }
        foreach (var batch in plans.SelectMany(p => p.Destroy).GroupBy(ZfsNames.PoolOf))
            destroyed += Batched(batch.ToList(), names => zfs.DestroySnapshots(names), errors).Count;

        lock (_cacheLock)
        {
            // Only a clean pass is trusted, and only when no reconcile changed a volume meanwhile; else the next pass lists again.
            bool trust = errors.Count == 0 && epoch == _epoch;
            _listedAt = trust ? now : null;
            _nextDue = trust ? nextDue ?? now + CacheFor : null;
            _cachedVolumes = plans.Count;
        }
        return new SchedulerPassResult(plans.Count, created, destroyed, errors)
        {
            Taken = await DescribeAsync(taken, owners, errors, ct).ConfigureAwait(false),
        };
    }

    /// <summary>
    /// Runs one atomic call for the whole batch (the fast path); when it fails, runs it per name, so one bad
    /// volume (destroyed meanwhile, out of space) costs only its own snapshot and its error names it.
    /// </summary>
    private static List<string> Batched(List<string> names, Action<IReadOnlyCollection<string>> call, List<SchedulerError> errors)
    {
        try
        {
            call(names);
            return names;
        }
        catch (ZfsException) when (names.Count > 1)
        {
            // Fall through: one call per name finds the culprit and keeps the rest.
        }
        catch (ZfsException e)
        {
            errors.Add(new SchedulerError(ZfsNames.DatasetOf(names[0]), e.Message));
            return [];
        }
        var done = new List<string>();
        foreach (var n in names)
        {
            try
            {
                call([n]);
                done.Add(n);
            }
            catch (ZfsException e) { errors.Add(new SchedulerError(ZfsNames.DatasetOf(n), e.Message)); }
        }
        return done;
    }

    /// <summary>The taken snapshots with their volume's id and generation and their creation time (one `zfs get` for all).</summary>
    private async Task<IReadOnlyList<TakenSnapshot>> DescribeAsync(Dictionary<string, string> taken,
        Dictionary<string, (string? Id, long? Generation)> owners, List<SchedulerError> errors, CancellationToken ct)
    {
        if (taken.Count == 0) return [];
        IReadOnlyDictionary<string, string> creation = new Dictionary<string, string>();
        try
        {
            creation = await zfs.Cli.GetManyAsync(taken.Values, "creation", ct).ConfigureAwait(false);
        }
        catch (Exception e) when (e is ZfsException or IOException or FormatException)
        {
            errors.Add(new SchedulerError(null, "reading the creation time of the new snapshots: " + e.Message));
        }
        return taken.Select(kv =>
        {
            var owner = owners.GetValueOrDefault(kv.Key);
            DateTimeOffset? at = creation.TryGetValue(kv.Value, out var c) && long.TryParse(c, NumberStyles.Integer, CultureInfo.InvariantCulture, out long secs)
                ? DateTimeOffset.FromUnixTimeSeconds(secs) : null;
            return new TakenSnapshot(kv.Key, owner.Id, owner.Generation, kv.Value, at);
        }).ToList();
    }

    private void UpdateNewest(string dataset, string? snapshot)
    {
        if (snapshot is null) _newest.TryRemove(dataset, out _);
        else _newest[dataset] = snapshot;
    }
}
