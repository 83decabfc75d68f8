using Kraud.Zfs.Names;
using Kraud.Commands;

namespace Kraud.Zfs;

/// <summary>One property as `zfs get -H -p` prints it; Source is "-" for read-only properties.</summary>
public sealed record ZfsProperty(string Name, string Property, string Value, string Source);

/// <summary>
/// The `zfs` and `zpool` commands, always machine-readable (-H -p), always from argv. Used for what
/// libzfs_core does not offer: listing, property reads and sets, mounts, send and receive. An output line
/// that does not have the asked-for columns fails the call instead of being guessed at.
/// </summary>
public sealed class ZfsCli(ArgvRunner? runner = null)
{
    public string ZfsPath { get; init; } = "/usr/sbin/zfs";
    public string ZpoolPath { get; init; } = "/usr/sbin/zpool";
    /// <summary>Every zfs and zpool command runs in the C locale: its messages stay the English the error mapping reads.</summary>
    public ArgvRunner Runner { get; } = (runner ?? ArgvRunner.Default).WithVariable("LC_ALL", "C");

    public async Task<IReadOnlyList<string>> ListPoolsAsync(CancellationToken ct = default)
    {
        var r = await Runner.RunCheckedAsync([ZpoolPath, "list", "-H", "-p", "-o", "name"], ct: ct).ConfigureAwait(false);
        return Lines(r.Stdout);
    }

    /// <summary>Name, size and free bytes of every imported pool.</summary>
    public async Task<IReadOnlyList<(string Name, ulong Size, ulong Free)>> PoolSpaceAsync(CancellationToken ct = default)
    {
        var r = await Runner.RunCheckedAsync([ZpoolPath, "list", "-H", "-p", "-o", "name,size,free"], ct: ct).ConfigureAwait(false);
        return Lines(r.Stdout).Select(l => Columns(l, 3)).Select(c => (c[0], ulong.Parse(c[1]), ulong.Parse(c[2]))).ToList();
    }

    public async Task<bool> PoolExistsAsync(string pool, CancellationToken ct = default)
    {
        ZfsNames.CheckPool("pool", pool);
        return (await ListPoolsAsync(ct).ConfigureAwait(false)).Contains(pool);
    }

    /// <summary>`zfs list -H -p -o cols -t types [-r|-d depth] root`: rows of exactly the asked columns.</summary>
    public async Task<IReadOnlyList<string[]>> ListAsync(string? root, string types, IReadOnlyList<string> columns, int? depth = null,
        bool recursive = true, string? sortBy = null, CancellationToken ct = default)
    {
        var argv = new List<string> { ZfsPath, "list", "-H", "-p", "-o", string.Join(',', columns), "-t", types };
        if (sortBy is not null) { argv.Add("-s"); argv.Add(sortBy); }
        if (depth is int d) { argv.Add("-d"); argv.Add(d.ToString(System.Globalization.CultureInfo.InvariantCulture)); }
        else if (recursive && root is not null) argv.Add("-r");
        if (root is not null) argv.Add(ZfsNames.CheckDataset(root));
        var r = await Runner.RunAsync(argv, ct: ct).ConfigureAwait(false);
        if (!r.Succeeded) throw ZfsException.FromStderr("list", root ?? "(all)", r.Stderr);
        return Lines(r.Stdout).Select(l => Columns(l, columns.Count)).ToList();
    }

    /// <summary>The named properties (or "all") of one dataset or snapshot.</summary>
    public async Task<IReadOnlyDictionary<string, ZfsProperty>> GetAsync(string name, IReadOnlyList<string> properties, CancellationToken ct = default)
    {
        CheckAnyName(name);
        var r = await Runner.RunAsync([ZfsPath, "get", "-H", "-p", "-o", "name,property,value,source", string.Join(',', properties), name], ct: ct).ConfigureAwait(false);
        if (!r.Succeeded) throw ZfsException.FromStderr("get", name, r.Stderr);
        var result = new Dictionary<string, ZfsProperty>(StringComparer.Ordinal);
        foreach (var line in Lines(r.Stdout))
        {
            var c = Columns(line, 4);
            result[c[1]] = new ZfsProperty(c[0], c[1], c[2], c[3]);
        }
        return result;
    }

    /// <summary>One property of many datasets or snapshots in one `zfs get`: name to value (names that vanished meanwhile fail the call).</summary>
    public async Task<IReadOnlyDictionary<string, string>> GetManyAsync(IReadOnlyCollection<string> names, string property, CancellationToken ct = default)
    {
        var result = new Dictionary<string, string>(StringComparer.Ordinal);
        if (names.Count == 0) return result;
        foreach (var n in names) CheckAnyName(n);
        var argv = new List<string> { ZfsPath, "get", "-H", "-p", "-o", "name,value", property };
        argv.AddRange(names);
        var r = await Runner.RunAsync(argv, ct: ct).ConfigureAwait(false);
        if (!r.Succeeded) throw ZfsException.FromStderr("get " + property, names.First(), r.Stderr);
        foreach (var line in Lines(r.Stdout))
        {
            var c = Columns(line, 2);
            result[c[0]] = c[1];
        }
        return result;
    }

    /// <summary>Sets several properties in one `zfs set` (atomic in OpenZFS 2.x).</summary>
    public async Task SetAsync(string name, IReadOnlyDictionary<string, string> properties, CancellationToken ct = default)
    {
        if (properties.Count == 0) return;
        CheckAnyName(name);
        var argv = new List<string> { ZfsPath, "set" };
        foreach (var (k, v) in properties) argv.Add(k + "=" + v);
        argv.Add(name);
        var r = await Runner.RunAsync(argv, ct: ct).ConfigureAwait(false);
        if (!r.Succeeded) throw ZfsException.FromStderr("set " + string.Join(',', properties.Keys), name, r.Stderr);
    }

    public async Task InheritAsync(string name, string property, CancellationToken ct = default)
    {
        CheckAnyName(name);
        var r = await Runner.RunAsync([ZfsPath, "inherit", property, name], ct: ct).ConfigureAwait(false);
        if (!r.Succeeded) throw ZfsException.FromStderr("inherit " + property, name, r.Stderr);
    }

    public async Task MountAsync(string dataset, CancellationToken ct = default)
    {
        ZfsNames.CheckDataset(dataset);
        var r = await Runner.RunAsync([ZfsPath, "mount", dataset], ct: ct).ConfigureAwait(false);
        if (!r.Succeeded && !r.Stderr.Contains("already mounted", StringComparison.Ordinal)) throw ZfsException.FromStderr("mount", dataset, r.Stderr);
    }

    public async Task UnmountAsync(string dataset, CancellationToken ct = default)
    {
        ZfsNames.CheckDataset(dataset);
        var r = await Runner.RunAsync([ZfsPath, "unmount", dataset], ct: ct).ConfigureAwait(false);
        if (!r.Succeeded && !r.Stderr.Contains("not currently mounted", StringComparison.Ordinal)) throw ZfsException.FromStderr("unmount", dataset, r.Stderr);
    }

    /// <summary>One `zfs snapshot` with many names: the command's own atomic batch (kept for comparison).</summary>
    public async Task SnapshotAsync(IReadOnlyList<string> snapshots, CancellationToken ct = default)
    {
        foreach (var s in snapshots) ZfsNames.CheckSnapshot(s);
        var argv = new List<string> { ZfsPath, "snapshot" };
        argv.AddRange(snapshots);
        var r = await Runner.RunAsync(argv, ct: ct).ConfigureAwait(false);
        if (!r.Succeeded) throw ZfsException.FromStderr("snapshot", snapshots[0], r.Stderr);
    }

    public async Task DestroyRecursiveAsync(string dataset, CancellationToken ct = default)
    {
        ZfsNames.CheckDataset(dataset);
        var r = await Runner.RunAsync([ZfsPath, "destroy", "-r", dataset], ct: ct).ConfigureAwait(false);
        if (!r.Succeeded) throw ZfsException.FromStderr("destroy", dataset, r.Stderr);
    }

    internal static void CheckAnyName(string name)
    {
        if (name.Contains('@')) ZfsNames.CheckSnapshot(name);
        else if (name.Contains('#')) ZfsNames.CheckBookmark(name);
        else ZfsNames.CheckDataset(name);
    }

    internal static List<string> Lines(string s) => s.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => l.TrimEnd('\r')).ToList();

    internal static string[] Columns(string line, int count)
    {
        var c = line.Split('\t');
        if (c.Length != count) throw new FormatException($"unexpected zfs output line (wanted {count} tab-separated columns): '{line}'");
        return c;
    }
}
