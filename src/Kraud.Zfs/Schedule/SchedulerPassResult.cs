namespace Kraud.Zfs.Schedule;

/// <summary>The result of one scheduler pass: counts, the snapshots it took (per volume) and what failed (per volume where known).</summary>
public sealed record SchedulerPassResult(int Volumes, int Created, int Destroyed, IReadOnlyList<SchedulerError> Errors, bool FromCache = false)
{
    /// <summary>The newest snapshot each volume got in this pass (one entry per volume that got any).</summary>
    public IReadOnlyList<TakenSnapshot> Taken { get; init; } = [];
}

/// <summary>
/// A snapshot a pass took of a volume: the dataset, the volume's kraud:id and kraud:generation (null when the
/// dataset does not carry them), the snapshot's full name and its creation time (null when it could not be read).
/// </summary>
public sealed record TakenSnapshot(string Dataset, string? VolumeId, long? Generation, string Snapshot, DateTimeOffset? CreatedAt);

/// <summary>One failure of a pass; <see cref="Dataset"/> names the volume (or the root) it concerns when known.</summary>
public sealed record SchedulerError(string? Dataset, string Message)
{
    public override string ToString() => Message;
}
