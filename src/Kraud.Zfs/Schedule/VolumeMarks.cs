namespace Kraud.Zfs.Schedule;

/// <summary>
/// The user properties by which the scheduler knows its volumes: a child of a root is one when its
/// <see cref="IdProperty"/> is its own name and its <see cref="OwnerProperty"/> is <see cref="Owner"/> (the agent's
/// host). Pools are shared by whatever is imported on the machine: a pool carried over from another host, or a
/// second agent on the same kernel, holds volumes with the same layout and a schedule, and their snapshots are
/// theirs to take and prune, not this scheduler's.
/// </summary>
/// <param name="GenerationProperty">The property whose value a taken snapshot reports as the volume's generation.</param>
public sealed record VolumeMarks(string IdProperty, string GenerationProperty, string OwnerProperty, string Owner);
