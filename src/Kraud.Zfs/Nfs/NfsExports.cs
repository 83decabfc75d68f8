using Kraud.Commands;

namespace Kraud.Zfs.Nfs;

/// <summary>
/// The agent's own exports file (default /etc/exports.d/kraud.exports; only it, never /etc/exports or ZFS's
/// sharenfs file). A file at that path that does not start with <see cref="ExportsFile.Header"/> is someone else's:
/// every operation refuses it (permanent) and leaves it as it is. Every change renders the whole set, writes a temp file, fsyncs, renames it into place
/// (readers never see half a file) and applies it with `exportfs -ra`.
/// </summary>
public sealed class NfsExports
{
    private readonly SemaphoreSlim _lock = new(1, 1);
    private readonly Dictionary<string, NfsExport> _exports = new(StringComparer.Ordinal);
    private bool _loaded;

    public NfsExports(string path = "/etc/exports.d/kraud.exports", string exportfsPath = "/usr/sbin/exportfs", ArgvRunner? runner = null)
    {
        if (!path.EndsWith(".exports", StringComparison.Ordinal)) throw new ArgumentException("exportfs only reads files ending in .exports", nameof(path));
        FilePath = path;
        ExportfsPath = exportfsPath;
        // The C locale, as for zfs: exportfs's messages end up in errors read in English.
        Runner = (runner ?? ArgvRunner.Default).WithVariable("LC_ALL", "C");
    }

    public string FilePath { get; }
    public string ExportfsPath { get; }
    public ArgvRunner Runner { get; }

    /// <summary>False when the host has no exportfs (nfs-kernel-server missing): writes still happen, applying fails clearly.</summary>
    public bool Available => File.Exists(ExportfsPath);

    public async Task<NfsExport?> GetAsync(string volumeId, CancellationToken ct = default)
    {
        await _lock.WaitAsync(ct).ConfigureAwait(false);
        try { Load(); return _exports.GetValueOrDefault(volumeId); }
        finally { _lock.Release(); }
    }

    public async Task<IReadOnlyList<NfsExport>> ListAsync(CancellationToken ct = default)
    {
        await _lock.WaitAsync(ct).ConfigureAwait(false);
        try { Load(); return _exports.Values.ToList(); }
        finally { _lock.Release(); }
    }

    /// <summary>Exports (or re-exports with new clients) one volume; no write when it is already so. True when changed.</summary>
    public Task<bool> SetAsync(NfsExport export, CancellationToken ct = default) => ChangeAsync(map =>
    {
        if (export.Clients.Count == 0) return map.Remove(export.VolumeId);
        if (map.TryGetValue(export.VolumeId, out var have) && have.SameAs(export)) return false;
        map[export.VolumeId] = export;
        return true;
    }, ct);

    /// <summary>Unexports a volume. True when it was exported.</summary>
    public Task<bool> RemoveAsync(string volumeId, CancellationToken ct = default) => ChangeAsync(map => map.Remove(volumeId), ct);

    /// <summary>
    /// At start: keeps only exports whose path is still a mounted volume (a stale line would make nfs-server fail
    /// or export the empty directory under it), then writes and applies the file even when nothing changed, so
    /// the kernel's table matches it after a reboot or an nfs-server restart.
    /// </summary>
    public async Task<ExportsAtStart> ReconcileAtStartAsync(Func<NfsExport, Task<bool>> stillValid, CancellationToken ct = default)
    {
        await _lock.WaitAsync(ct).ConfigureAwait(false);
        try
        {
            Load();
            var removed = new List<NfsExport>();
            foreach (var e in _exports.Values.ToList())
                if (!await stillValid(e).ConfigureAwait(false))
                {
                    _exports.Remove(e.VolumeId);
                    removed.Add(e);
                }
            await WriteAndApplyAsync(ct).ConfigureAwait(false);
            return new ExportsAtStart(_exports.Values.ToList(), removed);
        }
        finally { _lock.Release(); }
    }

    /// <summary>The paths the kernel exports now (from `exportfs -v`), for checks and tests.</summary>
    public async Task<IReadOnlyList<string>> ActivePathsAsync(CancellationToken ct = default)
    {
        var r = await Runner.RunCheckedAsync([ExportfsPath, "-v"], ct: ct).ConfigureAwait(false);
        return r.Stdout.Split('\n').Select(l => l.Trim()).Where(l => l.StartsWith('/'))
            .Select(l => l.Split([' ', '\t'], StringSplitOptions.RemoveEmptyEntries)[0]).Distinct().ToList();
    }

    private async Task<bool> ChangeAsync(Func<Dictionary<string, NfsExport>, bool> change, CancellationToken ct)
    {
        await _lock.WaitAsync(ct).ConfigureAwait(false);
        try
        {
            Load();
            var before = new Dictionary<string, NfsExport>(_exports, StringComparer.Ordinal);
            if (!change(_exports)) return false;
            try { await WriteAndApplyAsync(ct).ConfigureAwait(false); }
            catch
            {
                // Keep memory equal to what is on disk: the next attempt starts from the same state.
                _exports.Clear();
                foreach (var (k, v) in before) _exports[k] = v;
                WriteFile();
                throw;
            }
            return true;
        }
        finally { _lock.Release(); }
    }

    private void Load()
    {
        if (_loaded) return;
        if (File.Exists(FilePath))
        {
            string text = File.ReadAllText(FilePath);
            // Every write renders the whole file: one the agent did not write (no header) would lose its lines.
            if (!ExportsFile.IsOurs(text))
                throw new ForeignExportsFileException(
                    $"exports file {FilePath} exists and is not kraud's (its first line is not \"{ExportsFile.Header}\"); left untouched");
            foreach (var e in ExportsFile.Parse(text)) _exports[e.VolumeId] = e;
        }
        _loaded = true;
    }

    private async Task WriteAndApplyAsync(CancellationToken ct)
    {
        WriteFile();
        if (!Available) throw new IOException($"cannot apply {FilePath}: {ExportfsPath} is missing (install nfs-kernel-server)");
        var r = await Runner.RunAsync([ExportfsPath, "-ra"], ct: ct).ConfigureAwait(false);
        if (!r.Succeeded) throw new IOException($"exportfs -ra failed applying {FilePath}: {r.Stderr.Trim()}");
    }

    private void WriteFile()
    {
        string dir = Path.GetDirectoryName(FilePath)!;
        Directory.CreateDirectory(dir);
        // The temp name does not end in .exports, so exportfs never reads a half-written file.
        string temp = Path.Combine(dir, "." + Path.GetFileName(FilePath) + ".tmp-" + Environment.ProcessId);
        using (var fs = new FileStream(temp, FileMode.Create, FileAccess.Write, FileShare.None))
        {
            var bytes = System.Text.Encoding.UTF8.GetBytes(ExportsFile.Render(_exports.Values));
            fs.Write(bytes);
            fs.Flush(flushToDisk: true);
        }
        File.SetUnixFileMode(temp, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead);
        File.Move(temp, FilePath, overwrite: true);
    }
}

/// <summary>What the start-up reconcile did: the exports it kept (and applied) and the stale ones it dropped.</summary>
public sealed record ExportsAtStart(IReadOnlyList<NfsExport> Kept, IReadOnlyList<NfsExport> Removed);

/// <summary>The exports file exists but was not written by the agent (no header): it is left as it is, and nothing is exported through it.</summary>
public sealed class ForeignExportsFileException(string message) : IOException(message);
