using Microsoft.Extensions.Logging;

namespace Kraud.Oci;

/// <summary>What a garbage collection pass did.</summary>
/// <param name="Removed">Blobs deleted (past the grace period, or evicted over the size limit).</param>
/// <param name="FreedBytes">Bytes those blobs held.</param>
/// <param name="StoredBytes">Bytes of the blobs left.</param>
/// <param name="ReferencedBytes">Of those, bytes some owner references (never removed, even over the limit).</param>
public sealed record GcResult(IReadOnlyList<Digest> Removed, long FreedBytes, long StoredBytes, long ReferencedBytes);

public sealed partial class BlobStore
{
    /// <summary>Marks blobs as used by <paramref name="owner"/> (added to what it already uses); blobs need not be stored yet.</summary>
    public void Reference(string owner, IEnumerable<Digest> digests)
    {
        ArgumentException.ThrowIfNullOrEmpty(owner);
        lock (_gate)
        {
            if (!_owners.TryGetValue(owner, out var set)) _owners[owner] = set = [];
            DateTimeOffset now = _time.GetUtcNow();
            foreach (Digest d in digests)
            {
                set.Add(d);
                _lastUsed[d] = now;
            }
            SaveState();
        }
    }

    /// <summary>Drops the owner's use of some blobs; each stays for the grace period after its last owner lets go.</summary>
    public void Release(string owner, IEnumerable<Digest> digests)
    {
        lock (_gate)
        {
            if (!_owners.TryGetValue(owner, out var set)) return;
            DateTimeOffset now = _time.GetUtcNow();
            foreach (Digest d in digests)
            {
                if (set.Remove(d)) _lastUsed[d] = now;
            }
            if (set.Count == 0) _owners.Remove(owner);
            SaveState();
        }
    }

    /// <summary>Drops every use by the owner (it is gone).</summary>
    public void Release(string owner)
    {
        lock (_gate)
        {
            if (!_owners.Remove(owner, out var set)) return;
            DateTimeOffset now = _time.GetUtcNow();
            foreach (Digest d in set) _lastUsed[d] = now;
            SaveState();
        }
    }

    /// <summary>The blobs the owner references.</summary>
    public IReadOnlySet<Digest> ReferencesOf(string owner)
    {
        lock (_gate) return _owners.TryGetValue(owner, out var set) ? set.ToHashSet() : new HashSet<Digest>();
    }

    /// <summary>Every owner that references something.</summary>
    public IReadOnlyList<string> Owners
    {
        get { lock (_gate) return [.. _owners.Keys.Order(StringComparer.Ordinal)]; }
    }

    /// <summary>
    /// One pass: removes unreferenced blobs not used for <paramref name="grace"/>, then, while the store holds more
    /// than <paramref name="maxBytes"/>, the least recently used unreferenced ones even within their grace. Blobs an
    /// owner references and blobs being downloaded are never removed; partial files nobody is downloading go after
    /// the grace period too.
    /// </summary>
    public GcResult CollectGarbage(TimeSpan grace, long maxBytes)
    {
        lock (_gate)
        {
            DateTimeOffset now = _time.GetUtcNow();
            var referenced = _owners.Values.SelectMany(s => s).ToHashSet();
            var blobs = new List<(Digest Digest, long Bytes, DateTimeOffset LastUsed)>();
            foreach (FileInfo f in new DirectoryInfo(BlobDirectory).EnumerateFiles())
            {
                if (f.Name.StartsWith('.'))
                {
                    RemoveStaleTransient(f, now, grace);
                    continue;
                }
                if (!Digest.TryParse("sha256:" + f.Name, out var d, out _)) continue; // not ours: leave it alone
                blobs.Add((d, f.Length, _lastUsed.TryGetValue(d, out var at) ? at : _openedAt));
            }

            var removed = new List<Digest>();
            long freed = 0, stored = blobs.Sum(b => b.Bytes);
            bool Removable(Digest d) => !referenced.Contains(d) && !_inFlight.ContainsKey(d);
            void Remove((Digest Digest, long Bytes, DateTimeOffset LastUsed) b, string why)
            {
                File.Delete(PathOf(b.Digest));
                _lastUsed.Remove(b.Digest);
                removed.Add(b.Digest);
                freed += b.Bytes;
                stored -= b.Bytes;
                _logger.LogInformation("blob store: removed {Digest} ({Bytes} bytes): {Why}", b.Digest, b.Bytes, why);
            }

            var unreferenced = blobs.Where(b => Removable(b.Digest)).OrderBy(b => b.LastUsed).ToList();
            foreach (var b in unreferenced.Where(b => now - b.LastUsed >= grace).ToList())
            {
                Remove(b, $"unused since {b.LastUsed:u}");
                unreferenced.Remove(b);
            }
            foreach (var b in unreferenced)
            {
                if (stored <= maxBytes) break;
                Remove(b, $"least recently used while the store is over {maxBytes} bytes");
            }

            // Forget use times of blobs that are neither stored nor referenced (removed elsewhere, never fetched).
            var onDisk = blobs.Select(b => b.Digest).Except(removed).ToHashSet();
            foreach (Digest d in _lastUsed.Keys.Where(d => !onDisk.Contains(d) && !referenced.Contains(d) && !_inFlight.ContainsKey(d)).ToList())
                _lastUsed.Remove(d);

            if (removed.Count > 0) Native.FsyncDirectory(BlobDirectory);
            SaveState();
            long referencedBytes = blobs.Where(b => referenced.Contains(b.Digest)).Sum(b => b.Bytes);
            if (stored > maxBytes)
                _logger.LogWarning("blob store: {Stored} bytes stored, over the {Max} allowed; {Referenced} of them referenced", stored, maxBytes, referencedBytes);
            return new GcResult(removed, freed, stored, referencedBytes);
        }
    }

    // Leftovers of interrupted downloads (.<hex>.partial) and writes (.*.tmp): kept for resuming, but not forever.
    private void RemoveStaleTransient(FileInfo f, DateTimeOffset now, TimeSpan grace)
    {
        if (f.Name.EndsWith(".partial", StringComparison.Ordinal)
            && Digest.TryParse("sha256:" + f.Name[1..^".partial".Length], out var d, out _) && _inFlight.ContainsKey(d)) return;
        if (f.Name.EndsWith(".tmp", StringComparison.Ordinal) || f.Name.EndsWith(".partial", StringComparison.Ordinal))
        {
            if (now - new DateTimeOffset(f.LastWriteTimeUtc) >= grace) f.Delete();
        }
    }
}
