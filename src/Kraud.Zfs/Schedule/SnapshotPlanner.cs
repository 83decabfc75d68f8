namespace Kraud.Zfs.Schedule;

/// <summary>What one pass does to one volume: snapshots to take (with their label) and snapshots to destroy.</summary>
public sealed record SnapshotPlan(string Dataset, IReadOnlyList<(string Snapshot, string Label)> Create, IReadOnlyList<string> Destroy);

/// <summary>
/// Pure decision, no I/O: given the time, a schedule and the snapshots a volume has, which to take and which to
/// prune. Only snapshots the agent made (its name prefix AND its kraud:auto property carrying the same label)
/// are ever pruned, and never one with a hold.
/// </summary>
public static class SnapshotPlanner
{
    public static SnapshotPlan Plan(string dataset, SnapshotSchedule schedule, IEnumerable<ZfsSnapshotInfo> existing, DateTimeOffset now)
    {
        var create = new List<(string, string)>();
        var destroy = new List<string>();
        var all = existing.ToList();
        foreach (var rule in schedule.Rules)
        {
            var slot = rule.SlotOf(now);
            var mine = new List<(string Name, DateTimeOffset Slot, bool Held)>();
            foreach (var s in all)
                if (s.AutoTag == rule.Every && SnapshotSchedule.TryParseName(s.ShortName, out var every, out var t) && every == rule.Every)
                    mine.Add((s.Name, t, s.Held));
            if (!mine.Any(m => m.Slot >= slot))
            {
                string name = dataset + "@" + SnapshotSchedule.SnapshotName(rule.Every, slot);
                create.Add((name, rule.Every));
                mine.Add((name, slot, false));
            }
            foreach (var old in mine.OrderByDescending(m => m.Slot).Skip(rule.Keep))
                if (!old.Held) destroy.Add(old.Name);
        }
        return new SnapshotPlan(dataset, create, destroy);
    }
}
