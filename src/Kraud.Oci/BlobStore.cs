using System.Text.Json;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Kraud.Oci;

/// <summary>
/// A content-addressed blob store: <c>&lt;root&gt;/blobs/sha256/&lt;hex&gt;</c>, each file the verified bytes of its
/// digest (layers, configs, manifests, bali files), files 0600 and directories 0700. Owners (opaque strings, e.g. a
/// pod id) reference the blobs they use; <see cref="CollectGarbage"/> removes what no owner has used for a grace
/// period and the least recently used unreferenced blobs over a size limit. The references survive a restart in
/// <c>&lt;root&gt;/refs.json</c>. One process per root: a second one is refused (a lock on <c>&lt;root&gt;/lock</c>).
/// </summary>
public sealed partial class BlobStore : IDisposable
{
    private const UnixFileMode PrivateDir = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute;

    private readonly ILogger _logger;
    private readonly TimeProvider _time;
    private readonly FileStream _lockFile;
    private readonly string _statePath;
    // Guards the reference state, the in-flight table, and every create/delete of a blob file, so that the garbage
    // collector and a finishing download never race on the same name.
    private readonly Lock _gate = new();
    private readonly Dictionary<string, HashSet<Digest>> _owners = new(StringComparer.Ordinal);
    private readonly Dictionary<Digest, DateTimeOffset> _lastUsed = new();
    // Blobs on disk that the state file does not know (a crash between rename and state write, a lost state file)
    // count as last used when the store was opened, so they get a full grace period before removal.
    private readonly DateTimeOffset _openedAt;

    public BlobStore(string root, ILogger? logger = null, TimeProvider? time = null)
    {
        _logger = logger ?? NullLogger.Instance;
        _time = time ?? TimeProvider.System;
        Root = Path.GetFullPath(root);
        BlobDirectory = Path.Combine(Root, "blobs", "sha256");
        foreach (string dir in new[] { Root, Path.Combine(Root, "blobs"), BlobDirectory })
        {
            Directory.CreateDirectory(dir, PrivateDir);
            File.SetUnixFileMode(dir, PrivateDir);
        }
        try
        {
            // FileShare.None is an flock(LOCK_EX|LOCK_NB) on Linux: held until Dispose or the process exits.
            _lockFile = new FileStream(Path.Combine(Root, "lock"), new FileStreamOptions
            {
                Mode = FileMode.OpenOrCreate, Access = FileAccess.ReadWrite, Share = FileShare.None, UnixCreateMode = AtomicFile.Private,
            });
        }
        catch (IOException e)
        {
            throw new OciException($"blob store {Root} is in use by another process or store ({e.Message})", permanent: false, e);
        }
        _statePath = Path.Combine(Root, "refs.json");
        _openedAt = _time.GetUtcNow();
        try
        {
            LoadState();
        }
        catch
        {
            _lockFile.Dispose();
            throw;
        }
    }

    /// <summary>The store's root directory (absolute).</summary>
    public string Root { get; }

    /// <summary><c>&lt;root&gt;/blobs/sha256</c>: the blobs, and transient <c>.*.partial</c>/<c>.*.tmp</c> files.</summary>
    public string BlobDirectory { get; }

    /// <summary>Where the blob of <paramref name="digest"/> is (or would be) stored.</summary>
    public string PathOf(Digest digest) => Path.Combine(BlobDirectory, digest.Hex);

    public bool Contains(Digest digest) => File.Exists(PathOf(digest));

    /// <summary>
    /// Stores a small blob held in memory (a manifest) after checking its digest; a no-op if it is there.
    /// Returns its path.
    /// </summary>
    public string Add(Digest digest, ReadOnlySpan<byte> content)
    {
        var actual = Digest.Of(content);
        if (actual != digest) throw new DigestMismatchException($"blob {digest}", digest, actual);
        string path = PathOf(digest);
        lock (_gate)
        {
            if (!File.Exists(path)) AtomicFile.Write(path, content);
            _lastUsed[digest] = _time.GetUtcNow();
            SaveState();
        }
        return path;
    }

    public void Dispose() => _lockFile.Dispose();

    private void LoadState()
    {
        if (!File.Exists(_statePath)) return;
        StoreState? state;
        try
        {
            state = JsonSerializer.Deserialize(File.ReadAllBytes(_statePath), OciJsonContext.Default.StoreState);
        }
        catch (JsonException e)
        {
            // Refusing to start over a cache file would take the host down with it. Keep the bad file for a look,
            // and start with no references: owners mark theirs again, and every blob gets a full grace period.
            string aside = $"{_statePath}.corrupt-{_time.GetUtcNow().ToUnixTimeSeconds()}";
            File.Move(_statePath, aside, overwrite: true);
            _logger.LogWarning("blob store {Root}: {State} is unreadable ({Error}); moved to {Aside}, starting without references",
                Root, _statePath, e.Message, aside);
            return;
        }
        if (state is null) return;
        foreach ((string owner, List<string> digests) in state.Owners)
        {
            var set = new HashSet<Digest>();
            foreach (string d in digests)
            {
                if (Digest.TryParse(d, out var digest, out _)) set.Add(digest);
            }
            _owners[owner] = set;
        }
        foreach ((string d, long ms) in state.LastUsedUnixMs)
        {
            if (Digest.TryParse(d, out var digest, out _)) _lastUsed[digest] = DateTimeOffset.FromUnixTimeMilliseconds(ms);
        }
    }

    // Called under _gate. Small (one line per blob and owner) and written whole, atomically, on every change.
    private void SaveState()
    {
        var state = new StoreState();
        foreach ((string owner, HashSet<Digest> set) in _owners)
            state.Owners[owner] = set.Select(d => d.ToString()).Order(StringComparer.Ordinal).ToList();
        foreach ((Digest d, DateTimeOffset at) in _lastUsed)
            state.LastUsedUnixMs[d.ToString()] = at.ToUnixTimeMilliseconds();
        AtomicFile.Write(_statePath, JsonSerializer.SerializeToUtf8Bytes(state, OciJsonContext.Default.StoreState));
    }
}
