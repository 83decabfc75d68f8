using Kraud.Zfs.Names;
using Kraud.Zfs.Native;

namespace Kraud.Zfs;

/// <summary>
/// The operations the reconcilers use: libzfs_core for the changes (create, snapshot, destroy, rollback,
/// clone, hold, bookmark), the CLI for reading and for what lzc lacks (property sets, mounts).
/// </summary>
public sealed class ZfsApi(ZfsCli? cli = null)
{
    /// <summary>User property carrying the schedule label ("1h") on snapshots the agent's scheduler made.</summary>
    public const string AutoProperty = "kraud:auto";

    public ZfsCli Cli { get; } = cli ?? new ZfsCli();

    public bool Exists(string name) => LibZfsCore.Exists(name);

    public void CreateFilesystem(string dataset, ulong? refquota, IReadOnlyDictionary<string, string>? userProps) =>
        LibZfsCore.Create(dataset, volume: false, refquota is ulong q ? new Dictionary<string, ulong> { ["refquota"] = q } : null, userProps);

    /// <summary>A zvol; thick (refreservation = volsize, as `zfs create -V` does) so a full pool fails at create, not at write.</summary>
    public void CreateVolume(string dataset, ulong volsize, IReadOnlyDictionary<string, string>? userProps, bool thick = true)
    {
        var numeric = new Dictionary<string, ulong> { ["volsize"] = volsize };
        if (thick) numeric["refreservation"] = volsize;
        LibZfsCore.Create(dataset, volume: true, numeric, userProps);
    }

    /// <summary>Creates the parent datasets of <paramref name="dataset"/> that are missing (like zfs create -p).</summary>
    public void EnsureParents(string dataset)
    {
        var parts = ZfsNames.CheckDataset(dataset).Split('/');
        for (int i = 2; i < parts.Length; i++)
        {
            string parent = string.Join('/', parts[..i]);
            if (LibZfsCore.Exists(parent)) continue;
            try { LibZfsCore.Create(parent, volume: false, null, null); }
            catch (ZfsException e) when (e.Problem == ZfsProblem.Exists) { }
        }
    }

    /// <summary>Snapshots of one dataset (or all below a root when recursive), oldest first.</summary>
    public async Task<IReadOnlyList<ZfsSnapshotInfo>> ListSnapshotsAsync(string dataset, bool recursive = false, CancellationToken ct = default)
    {
        var rows = await Cli.ListAsync(dataset, "snapshot", ["name", "creation", "createtxg", "userrefs", AutoProperty],
            depth: recursive ? null : 1, recursive: recursive, sortBy: "createtxg", ct: ct).ConfigureAwait(false);
        return rows.Select(Parse).ToList();
    }

    /// <summary>Snapshots of one dataset with their guids (what identifies a snapshot on both ends of a send), oldest first.</summary>
    public async Task<IReadOnlyList<(string Name, string Guid, long Creation)>> ListSnapshotGuidsAsync(string dataset, CancellationToken ct = default)
    {
        var rows = await Cli.ListAsync(dataset, "snapshot", ["name", "guid", "creation"], depth: 1, sortBy: "createtxg", ct: ct).ConfigureAwait(false);
        return rows.Select(c => (c[0], c[1], long.Parse(c[2], System.Globalization.CultureInfo.InvariantCulture))).ToList();
    }

    internal static ZfsSnapshotInfo Parse(string[] c) =>
        new(c[0], long.Parse(c[1]), ulong.Parse(c[2]), int.Parse(c[3]), c[4] == "-" ? "" : c[4]);

    /// <summary>Destroys a dataset with its snapshots: unmount, destroy the snapshots in one call, then the dataset.</summary>
    public async Task DestroyWithSnapshotsAsync(string dataset, CancellationToken ct = default)
    {
        ZfsNames.CheckDataset(dataset);
        if (!LibZfsCore.Exists(dataset)) return;
        var snaps = await ListSnapshotsAsync(dataset, ct: ct).ConfigureAwait(false);
        var held = snaps.Where(s => s.Held).Select(s => s.Name).ToList();
        if (held.Count > 0) throw new ZfsException("destroy", dataset, ZfsProblem.Busy, Kraud.Libc.Errno.EBUSY, $"snapshot {held[0]} is held");
        var type = (await Cli.GetAsync(dataset, ["type"], ct).ConfigureAwait(false))["type"].Value;
        if (type == "filesystem") await Cli.UnmountAsync(dataset, ct).ConfigureAwait(false);
        LibZfsCore.DestroySnapshots(snaps.Select(s => s.Name).ToList());
        // Right after its unmount (or an NFS unexport) the kernel may still hold the dataset for a moment: EBUSY then is
        // passing (seen in the kernel lane under load), so it is tried again for up to about 3 s before it counts.
        var delay = TimeSpan.FromMilliseconds(20);
        for (var waited = TimeSpan.Zero; ; waited += delay, delay *= 2)
        {
            try
            {
                LibZfsCore.Destroy(dataset);
                return;
            }
            catch (ZfsException e) when (e.Errno == Kraud.Libc.Errno.EBUSY && waited < TimeSpan.FromSeconds(3))
            {
                await Task.Delay(delay, ct).ConfigureAwait(false);
            }
        }
    }

    /// <summary>
    /// Rolls back to <paramref name="snapshot"/>, destroying newer snapshots first (zfs rollback -r); refuses
    /// when one of those is held, so nothing is lost that someone pinned.
    /// </summary>
    public async Task RollbackAsync(string snapshot, CancellationToken ct = default)
    {
        ZfsNames.CheckSnapshot(snapshot);
        string dataset = ZfsNames.DatasetOf(snapshot);
        var snaps = await ListSnapshotsAsync(dataset, ct: ct).ConfigureAwait(false);
        var target = snaps.FirstOrDefault(s => s.Name == snapshot)
            ?? throw new ZfsException("rollback", snapshot, ZfsProblem.NotFound, Kraud.Libc.Errno.ENOENT, "no such snapshot");
        var newer = snaps.Where(s => s.CreateTxg > target.CreateTxg).ToList();
        var held = newer.FirstOrDefault(s => s.Held);
        if (held is not null) throw new ZfsException("rollback", snapshot, ZfsProblem.Busy, Kraud.Libc.Errno.EBUSY, $"newer snapshot {held.Name} is held");
        LibZfsCore.DestroySnapshots(newer.Select(s => s.Name).ToList());
        LibZfsCore.RollbackTo(snapshot);
    }

    public void Snapshot(IReadOnlyCollection<string> snapshots, IReadOnlyDictionary<string, string>? userProps = null) =>
        LibZfsCore.Snapshot(snapshots, userProps);

    public void DestroySnapshots(IReadOnlyCollection<string> snapshots, bool defer = false) => LibZfsCore.DestroySnapshots(snapshots, defer);
    public void Clone(string dataset, string origin, IReadOnlyDictionary<string, string>? userProps = null) => LibZfsCore.Clone(dataset, origin, userProps);
    public void Hold(IReadOnlyCollection<string> snapshots, string tag) => LibZfsCore.Hold(snapshots, tag);
    public void Release(IReadOnlyCollection<string> snapshots, string tag) => LibZfsCore.Release(snapshots, tag);
    public IReadOnlyList<string> GetHolds(string snapshot) => LibZfsCore.GetHolds(snapshot);
    public void Bookmark(string bookmark, string snapshot) => LibZfsCore.Bookmark(new Dictionary<string, string> { [bookmark] = snapshot });
}
