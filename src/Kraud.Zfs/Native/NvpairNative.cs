using System.Runtime.InteropServices;

namespace Kraud.Zfs.Native;

/// <summary>
/// libnvpair.so.3 (OpenZFS name-value lists), the argument format of libzfs_core. The fnvlist_* calls abort
/// the process on allocation failure instead of returning an error, which is what we want for tiny lists.
/// </summary>
internal static unsafe partial class NvpairNative
{
    private const string Lib = "libnvpair.so.3";

    /// <summary>data_type_t values we read back (sys/nvpair.h).</summary>
    public const int DATA_TYPE_BOOLEAN = 1, DATA_TYPE_INT32 = 5, DATA_TYPE_UINT64 = 8, DATA_TYPE_STRING = 9,
        DATA_TYPE_NVLIST = 19;

    [LibraryImport(Lib)]
    public static partial nint fnvlist_alloc();

    [LibraryImport(Lib)]
    public static partial void fnvlist_free(nint nvl);

    [LibraryImport(Lib)]
    public static partial void nvlist_free(nint nvl);

    [LibraryImport(Lib, StringMarshalling = StringMarshalling.Utf8)]
    public static partial void fnvlist_add_boolean(nint nvl, string name);

    [LibraryImport(Lib, StringMarshalling = StringMarshalling.Utf8)]
    public static partial void fnvlist_add_uint64(nint nvl, string name, ulong value);

    [LibraryImport(Lib, StringMarshalling = StringMarshalling.Utf8)]
    public static partial void fnvlist_add_string(nint nvl, string name, string value);

    /// <summary>Adds a copy of <paramref name="value"/>; the caller still owns it.</summary>
    [LibraryImport(Lib, StringMarshalling = StringMarshalling.Utf8)]
    public static partial void fnvlist_add_nvlist(nint nvl, string name, nint value);

    [LibraryImport(Lib)]
    public static partial nint nvlist_next_nvpair(nint nvl, nint pair);

    [LibraryImport(Lib)]
    public static partial byte* nvpair_name(nint pair);

    [LibraryImport(Lib)]
    public static partial int nvpair_type(nint pair);

    [LibraryImport(Lib)]
    public static partial int nvpair_value_int32(nint pair, int* value);

    [LibraryImport(Lib)]
    public static partial int nvpair_value_uint64(nint pair, ulong* value);

    [LibraryImport(Lib)]
    public static partial int nvpair_value_string(nint pair, byte** value);

    [LibraryImport(Lib)]
    public static partial int nvpair_value_nvlist(nint pair, nint* value);
}
