using System.Runtime.InteropServices;

namespace Kraud.Zfs.Native;

/// <summary>
/// libzfs_core.so.3 (stable SONAME on Debian bookworm 2.1 and backports/trixie 2.3). Every call returns 0 or an
/// errno (ZFS-specific codes are &gt;= 1024); nothing is printed. boolean_t is a C int.
/// </summary>
internal static unsafe partial class ZfsCoreNative
{
    private const string Lib = "libzfs_core.so.3";

    /// <summary>lzc_dataset_type: LZC_DATSET_TYPE_ZFS = 2, LZC_DATSET_TYPE_ZVOL = 3.</summary>
    public const int LZC_DATSET_TYPE_ZFS = 2, LZC_DATSET_TYPE_ZVOL = 3;

    [LibraryImport(Lib)]
    public static partial int libzfs_core_init();

    [LibraryImport(Lib)]
    public static partial void libzfs_core_fini();

    [LibraryImport(Lib, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int lzc_create(string fsname, int type, nint props, byte* wkeydata, uint wkeylen);

    [LibraryImport(Lib, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int lzc_clone(string fsname, string origin, nint props);

    [LibraryImport(Lib, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int lzc_destroy(string fsname);

    [LibraryImport(Lib)]
    public static partial int lzc_snapshot(nint snaps, nint props, nint* errlist);

    [LibraryImport(Lib)]
    public static partial int lzc_destroy_snaps(nint snaps, int defer, nint* errlist);

    [LibraryImport(Lib, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int lzc_rollback_to(string fsname, string snapname);

    [LibraryImport(Lib)]
    public static partial int lzc_hold(nint holds, int cleanupFd, nint* errlist);

    [LibraryImport(Lib)]
    public static partial int lzc_release(nint holds, nint* errlist);

    [LibraryImport(Lib, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int lzc_get_holds(string snapname, nint* holds);

    [LibraryImport(Lib)]
    public static partial int lzc_bookmark(nint bookmarks, nint* errlist);

    [LibraryImport(Lib, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int lzc_exists(string dataset);
}
