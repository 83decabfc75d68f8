using NATS.Client.Core;
using NATS.Client.KeyValueStore;

namespace Kraud.Agent.ControlPlane;

public static class KeyValueExtensions
{
    /// <summary>The entry of <paramref name="key"/>, or null when it has none (never written, deleted or purged).</summary>
    public static async ValueTask<NatsKVEntry<T>?> GetOrNullAsync<T>(this INatsKVStore store, string key, INatsDeserialize<T> serializer, CancellationToken ct = default)
    {
        var result = await store.TryGetEntryAsync(key, serializer: serializer, cancellationToken: ct);
        if (result.Success) return result.Value;
        if (result.Error is NatsKVKeyNotFoundException or NatsKVKeyDeletedException) return null;
        throw result.Error;
    }

    /// <summary>
    /// Heartbeat of the agent's KV watches: NATS.Net rebuilds a watch after two missed heartbeats, and its default
    /// (5 s) left a watch silent about 12 s after a server restart; at 1 s it resumed after 2.0-3.0 s, at 500 ms it
    /// resumes well within 3 s. A heartbeat every half second per watch is nothing to the server (only `get --wait` watches).
    /// </summary>
    public static readonly TimeSpan WatchHeartbeat = TimeSpan.FromMilliseconds(500);

    /// <summary>The current entries matching <paramref name="filter"/> (deletes left out); ends after the last one.</summary>
    public static async IAsyncEnumerable<NatsKVEntry<T>> GetEntriesAsync<T>(this INatsKVStore store, string filter, INatsDeserialize<T> serializer,
        [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken ct = default)
    {
        var opts = new NatsKVWatchOpts { IgnoreDeletes = true, IdleHeartbeat = WatchHeartbeat, OnNoData = _ => ValueTask.FromResult(true) };
        await foreach (var entry in store.WatchAsync(filter, serializer, opts, ct))
        {
            yield return entry;
            if (entry.Delta == 0) yield break;
        }
    }

    /// <summary>Every change of the entries matching <paramref name="filter"/>, starting with their current values.</summary>
    public static IAsyncEnumerable<NatsKVEntry<T>> FollowAsync<T>(this INatsKVStore store, string filter, INatsDeserialize<T> serializer, CancellationToken ct = default) =>
        store.WatchAsync(filter, serializer, new NatsKVWatchOpts { IdleHeartbeat = WatchHeartbeat }, ct);
}
