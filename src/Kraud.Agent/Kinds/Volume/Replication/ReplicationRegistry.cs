using System.Collections.Concurrent;

namespace Kraud.Agent.Kinds.Volume.Replication;

/// <summary>A volume this host keeps a replica of: where, from which host, how many snapshots, of which class.</summary>
public sealed record ReplicaEntry(string Pool, string SourceHost, int Keep, long Generation, bool IsNfs);

/// <summary>A volume this host owns and sends: its dataset's pool and the spec's replication section.</summary>
public sealed record SourceEntry(string Pool, ReplicationSpec Spec, long Generation);

/// <summary>
/// What the Volume reconciler last applied about replication, read by the listener (whom to accept, into which
/// dataset) and the schedule (what to send where). Only the reconciler writes it; a volume is in one role at a time.
/// </summary>
public sealed class ReplicationRegistry
{
    private readonly ConcurrentDictionary<string, ReplicaEntry> _replicas = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, SourceEntry> _sources = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, SemaphoreSlim> _volumeLocks = new(StringComparer.Ordinal);

    public void SetReplica(string id, ReplicaEntry entry) { _sources.TryRemove(id, out _); _replicas[id] = entry; Changed?.Invoke(); }
    public void SetSource(string id, SourceEntry entry) { _replicas.TryRemove(id, out _); _sources[id] = entry; Changed?.Invoke(); }
    public void Remove(string id) { _replicas.TryRemove(id, out _); _sources.TryRemove(id, out _); Changed?.Invoke(); }

    public ReplicaEntry? Replica(string id) => _replicas.GetValueOrDefault(id);
    public SourceEntry? Source(string id) => _sources.GetValueOrDefault(id);
    public IReadOnlyList<KeyValuePair<string, SourceEntry>> Sources => _sources.OrderBy(kv => kv.Key, StringComparer.Ordinal).ToList();

    /// <summary>One transfer per volume at a time, whichever side starts it (a pass, a handover's final send, a receive).</summary>
    public SemaphoreSlim LockOf(string id) => _volumeLocks.GetOrAdd(id, _ => new SemaphoreSlim(1, 1));

    /// <summary>Called after every change (the schedule wakes for a new source).</summary>
    public Action? Changed { get; set; }
}
