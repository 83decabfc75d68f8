namespace Kraud.Zfs;

/// <summary>One snapshot as listed: creation time (Unix seconds), txg, hold count and the agent's schedule tag ("" when none).</summary>
public sealed record ZfsSnapshotInfo(string Name, long Creation, ulong CreateTxg, int UserRefs, string AutoTag)
{
    public string Dataset => Name[..Name.IndexOf('@')];
    public string ShortName => Name[(Name.IndexOf('@') + 1)..];
    public bool Held => UserRefs > 0;
}
