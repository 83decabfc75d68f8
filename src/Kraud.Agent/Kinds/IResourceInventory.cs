namespace Kraud.Agent.Kinds;

/// <summary>
/// One place where the agent finds resources it owns on this host (its state-dir records, the ZFS datasets it
/// tagged, the links it aliased), for the orphan check of contract section 3.3. A source lists; it never changes
/// anything. A source that cannot list throws: the orphan report logs it and goes on without it.
/// </summary>
public interface IResourceInventory
{
    /// <summary>What the source looks at, for the log ("ZFS datasets").</summary>
    string Name { get; }

    /// <summary>This host's resources the source finds, as keys of this host.</summary>
    Task<IReadOnlyList<ResourceKey>> ListAsync(CancellationToken ct);
}
