using System.Globalization;

namespace Kraud.Agent.Kinds.Volume.Replication;

/// <summary>The names replication gives ZFS objects: its snapshots, its hold tags, the replica's mark.</summary>
public static class ReplicationNames
{
    public const string SnapshotPrefix = "repl-";
    private const string TimeFormat = "yyyyMMdd'T'HHmmss'Z'";

    /// <summary>Set on a replica dataset: the host it receives from. A dataset without it is never written by a stream.</summary>
    public const string ReplicaOfProperty = "kraud:replica-of";

    /// <summary>`repl-&lt;UTC time&gt;`: the time of the pass on the daemon's clock (not the creation time: tests move the clock).</summary>
    public static string Snapshot(DateTimeOffset at) => SnapshotPrefix + at.UtcDateTime.ToString(TimeFormat, CultureInfo.InvariantCulture);

    /// <summary>The time in a replication snapshot's short name, or null for any other snapshot.</summary>
    public static DateTimeOffset? TimeOf(string shortName) =>
        shortName.StartsWith(SnapshotPrefix, StringComparison.Ordinal)
        && DateTime.TryParseExact(shortName[SnapshotPrefix.Length..], TimeFormat, CultureInfo.InvariantCulture,
            DateTimeStyles.AdjustToUniversal | DateTimeStyles.AssumeUniversal, out var t)
            ? new DateTimeOffset(t, TimeSpan.Zero) : null;

    /// <summary>The hold that keeps the base of target <paramref name="host"/>'s next incremental on the source.</summary>
    public static string HoldTag(string host) => "kraud-repl-" + host;

    public static string ShortName(string snapshot) => snapshot[(snapshot.IndexOf('@') + 1)..];
}
