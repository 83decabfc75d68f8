using Kraud.Zfs.Names;
using Kraud.Libc;

namespace Kraud.Zfs.Native;

/// <summary>
/// libzfs_core: one ioctl per call, errno back, nothing printed, no fork. Names are checked before any call.
/// Batch calls are atomic: all of them happen or none (the errlist names the ones that failed).
/// </summary>
public static unsafe class LibZfsCore
{
    private static readonly Lazy<int> Init = new(() => ZfsCoreNative.libzfs_core_init(), LazyThreadSafetyMode.ExecutionAndPublication);

    private static void EnsureInit(string operation, string name)
    {
        int rc;
        try { rc = Init.Value; }
        catch (DllNotFoundException e) { throw new ZfsException(operation, name, ZfsProblem.Other, 0, "libzfs_core.so.3 is not installed: " + e.Message); }
        if (rc != 0) throw ZfsException.FromErrno(operation, name, rc, "libzfs_core_init (is the zfs module loaded and /dev/zfs there?)");
    }

    public static bool Exists(string dataset)
    {
        EnsureInit("exists", dataset);
        return ZfsCoreNative.lzc_exists(dataset) != 0;
    }

    /// <summary>Creates a filesystem or zvol with numeric (uint64) and string (user) properties.</summary>
    public static void Create(string dataset, bool volume, IReadOnlyDictionary<string, ulong>? numeric, IReadOnlyDictionary<string, string>? strings)
    {
        ZfsNames.CheckDataset(dataset);
        EnsureInit("create", dataset);
        using var props = NvList.Create();
        if (numeric is not null) foreach (var (k, v) in numeric) props.Add(k, v);
        if (strings is not null) foreach (var (k, v) in strings) props.Add(k, v);
        int rc = ZfsCoreNative.lzc_create(dataset, volume ? ZfsCoreNative.LZC_DATSET_TYPE_ZVOL : ZfsCoreNative.LZC_DATSET_TYPE_ZFS, props.Handle, null, 0);
        if (rc != 0) throw ZfsException.FromErrno("create", dataset, rc);
    }

    /// <summary>One atomic snapshot of every name (all in one pool), tagged with user properties.</summary>
    public static void Snapshot(IReadOnlyCollection<string> snapshots, IReadOnlyDictionary<string, string>? userProps = null)
    {
        if (snapshots.Count == 0) return;
        foreach (var s in snapshots) ZfsNames.CheckSnapshot(s);
        string first = snapshots.First();
        EnsureInit("snapshot", first);
        using var snaps = NvList.Create();
        foreach (var s in snapshots) snaps.AddBoolean(s);
        using var props = NvList.Create();
        if (userProps is not null) foreach (var (k, v) in userProps) props.Add(k, v);
        nint err = 0;
        int rc = ZfsCoreNative.lzc_snapshot(snaps.Handle, props.Handle, &err);
        using var errs = NvList.Adopt(err);
        if (rc != 0) throw BatchError("snapshot", first, snapshots.Count, rc, errs);
    }

    /// <summary>Destroys snapshots all-or-nothing; missing ones are ignored. defer: held/cloned ones go when freed.</summary>
    public static void DestroySnapshots(IReadOnlyCollection<string> snapshots, bool defer = false)
    {
        if (snapshots.Count == 0) return;
        foreach (var s in snapshots) ZfsNames.CheckSnapshot(s);
        string first = snapshots.First();
        EnsureInit("destroy", first);
        using var snaps = NvList.Create();
        foreach (var s in snapshots) snaps.AddBoolean(s);
        nint err = 0;
        int rc = ZfsCoreNative.lzc_destroy_snaps(snaps.Handle, defer ? 1 : 0, &err);
        using var errs = NvList.Adopt(err);
        if (rc != 0) throw BatchError("destroy", first, snapshots.Count, rc, errs);
    }

    /// <summary>Destroys one dataset that has no snapshots or children and is not mounted.</summary>
    public static void Destroy(string dataset)
    {
        ZfsNames.CheckDataset(dataset);
        EnsureInit("destroy", dataset);
        int rc = ZfsCoreNative.lzc_destroy(dataset);
        if (rc != 0) throw ZfsException.FromErrno("destroy", dataset, rc);
    }

    /// <summary>Rolls back to the named snapshot, which must be the newest (EEXIST otherwise).</summary>
    public static void RollbackTo(string snapshot)
    {
        ZfsNames.CheckSnapshot(snapshot);
        string fs = ZfsNames.DatasetOf(snapshot);
        EnsureInit("rollback", snapshot);
        int rc = ZfsCoreNative.lzc_rollback_to(fs, snapshot);
        if (rc == Errno.EEXIST) throw new ZfsException("rollback", snapshot, ZfsProblem.Exists, rc, "newer snapshots exist; destroy them first");
        if (rc != 0) throw ZfsException.FromErrno("rollback", snapshot, rc);
    }

    public static void Clone(string dataset, string origin, IReadOnlyDictionary<string, string>? userProps = null)
    {
        ZfsNames.CheckDataset(dataset);
        ZfsNames.CheckSnapshot(origin);
        EnsureInit("clone", dataset);
        using var props = NvList.Create();
        if (userProps is not null) foreach (var (k, v) in userProps) props.Add(k, v);
        int rc = ZfsCoreNative.lzc_clone(dataset, origin, props.Handle);
        if (rc != 0) throw ZfsException.FromErrno("clone", dataset, rc, "from " + origin);
    }

    /// <summary>Places a hold with <paramref name="tag"/> on each snapshot (atomic).</summary>
    public static void Hold(IReadOnlyCollection<string> snapshots, string tag)
    {
        if (snapshots.Count == 0) return;
        foreach (var s in snapshots) ZfsNames.CheckSnapshot(s);
        ZfsNames.CheckComponent("tag", tag);
        string first = snapshots.First();
        EnsureInit("hold", first);
        using var holds = NvList.Create();
        foreach (var s in snapshots) holds.Add(s, tag);
        nint err = 0;
        int rc = ZfsCoreNative.lzc_hold(holds.Handle, -1, &err);
        using var errs = NvList.Adopt(err);
        if (rc != 0) throw BatchError("hold", first, snapshots.Count, rc, errs);
    }

    public static void Release(IReadOnlyCollection<string> snapshots, string tag)
    {
        if (snapshots.Count == 0) return;
        foreach (var s in snapshots) ZfsNames.CheckSnapshot(s);
        string first = snapshots.First();
        EnsureInit("release", first);
        using var holds = NvList.Create();
        foreach (var s in snapshots)
        {
            using var tags = NvList.Create().AddBoolean(tag);
            holds.Add(s, tags);
        }
        nint err = 0;
        int rc = ZfsCoreNative.lzc_release(holds.Handle, &err);
        using var errs = NvList.Adopt(err);
        if (rc != 0) throw BatchError("release", first, snapshots.Count, rc, errs);
    }

    /// <summary>The hold tags on a snapshot.</summary>
    public static IReadOnlyList<string> GetHolds(string snapshot)
    {
        ZfsNames.CheckSnapshot(snapshot);
        EnsureInit("holds", snapshot);
        nint list = 0;
        int rc = ZfsCoreNative.lzc_get_holds(snapshot, &list);
        using var holds = NvList.Adopt(list);
        if (rc != 0) throw ZfsException.FromErrno("holds", snapshot, rc);
        return holds.Read().Select(p => p.Name).ToList();
    }

    /// <summary>Creates bookmark → snapshot pairs atomically.</summary>
    public static void Bookmark(IReadOnlyDictionary<string, string> bookmarkToSnapshot)
    {
        if (bookmarkToSnapshot.Count == 0) return;
        foreach (var (b, s) in bookmarkToSnapshot) { ZfsNames.CheckBookmark(b); ZfsNames.CheckSnapshot(s); }
        string first = bookmarkToSnapshot.Keys.First();
        EnsureInit("bookmark", first);
        using var marks = NvList.Create();
        foreach (var (b, s) in bookmarkToSnapshot) marks.Add(b, s);
        nint err = 0;
        int rc = ZfsCoreNative.lzc_bookmark(marks.Handle, &err);
        using var errs = NvList.Adopt(err);
        if (rc != 0) throw BatchError("bookmark", first, bookmarkToSnapshot.Count, rc, errs);
    }

    // The errlist names each failed item with its errno; report the first, and how many there were.
    private static ZfsException BatchError(string operation, string first, int count, int rc, NvList errs)
    {
        var failed = errs.Read().Where(p => p.Value is int).Select(p => (p.Name, Errno: (int)p.Value!)).ToList();
        if (failed.Count == 0) return ZfsException.FromErrno(operation, count > 1 ? $"{first} (+{count - 1} more)" : first, rc);
        var (name, errno) = failed[0];
        return ZfsException.FromErrno(operation, name, errno, failed.Count > 1 ? $"{failed.Count} of {count} failed, none done" : null);
    }
}
