using System.Globalization;

namespace Kraud.Agent.Kinds.Volume;

/// <summary>
/// Where the agent keeps volumes in a pool and how it marks them: the one place that knows the layout
/// <c>&lt;pool&gt;/kraud/&lt;id&gt;</c>, the <c>kraud:*</c> properties and the user snapshots' prefix. Everything the agent
/// finds, changes or destroys on ZFS is found through these names, and only what carries the marks is the agent's.
/// </summary>
public static class VolumeDatasets
{
    /// <summary>The dataset under each pool that holds the agent's volumes.</summary>
    public const string Container = "kraud";

    public const string HostProperty = "kraud:host", IdProperty = "kraud:id", GenerationProperty = "kraud:generation",
        RestoreProperty = "kraud:restore-request", ManagedProperty = "kraud:properties";

    /// <summary>A user snapshot (kind Snapshot) is &lt;volume&gt;@user-&lt;name&gt;: apart from the schedule's auto- snapshots, which only the pruner destroys.</summary>
    public const string UserSnapshotPrefix = "user-";

    /// <summary>&lt;pool&gt;/kraud: the parent of every volume of the pool.</summary>
    public static string Root(string pool) => $"{pool}/{Container}";

    /// <summary>&lt;pool&gt;/kraud/&lt;id&gt;: the dataset of volume <paramref name="id"/> on <paramref name="pool"/>.</summary>
    public static string Name(string pool, string id) => $"{Root(pool)}/{id}";

    /// <summary>The volume id of &lt;pool&gt;/kraud/&lt;id&gt; (or of a snapshot of it), else null: the name alone, not yet the mark.</summary>
    public static string? IdOf(string dataset)
    {
        int at = dataset.IndexOf('@');
        var parts = (at < 0 ? dataset : dataset[..at]).Split('/');
        return parts.Length == 3 && parts[0].Length > 0 && parts[1] == Container && parts[2].Length > 0 ? parts[2] : null;
    }

    /// <summary>How the snapshot timer knows host <paramref name="host"/>'s volumes: by their id and host marks.</summary>
    public static Kraud.Zfs.Schedule.VolumeMarks ScheduledBy(string host) => new(IdProperty, GenerationProperty, HostProperty, host);

    /// <summary>The properties that mark a dataset or snapshot as resource <paramref name="id"/>'s of generation <paramref name="generation"/> on host <paramref name="host"/>.</summary>
    public static Dictionary<string, string> Marks(string host, string id, long generation) => new(StringComparer.Ordinal)
    {
        [HostProperty] = host, [IdProperty] = id, [GenerationProperty] = generation.ToString(CultureInfo.InvariantCulture),
    };
}
