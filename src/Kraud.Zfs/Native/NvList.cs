using System.Runtime.InteropServices;

namespace Kraud.Zfs.Native;

/// <summary>An owned nvlist_t: built before a libzfs_core call, or returned by one (errlist, holds) and read.</summary>
internal sealed unsafe class NvList : IDisposable
{
    private nint _handle;

    private NvList(nint handle) => _handle = handle;

    public static NvList Create() => new(NvpairNative.fnvlist_alloc());

    /// <summary>Takes ownership of a list libzfs_core allocated (may be null: then an empty reader).</summary>
    public static NvList Adopt(nint handle) => new(handle);

    public nint Handle => _handle;

    public NvList AddBoolean(string name) { NvpairNative.fnvlist_add_boolean(_handle, name); return this; }
    public NvList Add(string name, ulong value) { NvpairNative.fnvlist_add_uint64(_handle, name, value); return this; }
    public NvList Add(string name, string value) { NvpairNative.fnvlist_add_string(_handle, name, value); return this; }
    public NvList Add(string name, NvList value) { NvpairNative.fnvlist_add_nvlist(_handle, name, value._handle); return this; }

    /// <summary>The pairs as (name, value); value is an int/ulong/string/NvPairs or null for a boolean.</summary>
    public List<(string Name, object? Value)> Read()
    {
        var pairs = new List<(string, object?)>();
        if (_handle == 0) return pairs;
        for (nint p = NvpairNative.nvlist_next_nvpair(_handle, 0); p != 0; p = NvpairNative.nvlist_next_nvpair(_handle, p))
        {
            string name = Marshal.PtrToStringUTF8((nint)NvpairNative.nvpair_name(p)) ?? "";
            object? value = null;
            switch (NvpairNative.nvpair_type(p))
            {
                case NvpairNative.DATA_TYPE_INT32:
                    int i; if (NvpairNative.nvpair_value_int32(p, &i) == 0) value = i; break;
                case NvpairNative.DATA_TYPE_UINT64:
                    ulong u; if (NvpairNative.nvpair_value_uint64(p, &u) == 0) value = u; break;
                case NvpairNative.DATA_TYPE_STRING:
                    byte* s; if (NvpairNative.nvpair_value_string(p, &s) == 0) value = Marshal.PtrToStringUTF8((nint)s); break;
                case NvpairNative.DATA_TYPE_NVLIST:
                    nint n; if (NvpairNative.nvpair_value_nvlist(p, &n) == 0) value = new NvList(n).ReadBorrowed(); break;
            }
            pairs.Add((name, value));
        }
        return pairs;
    }

    // A nested list belongs to its parent: read it, never free it.
    private List<(string Name, object? Value)> ReadBorrowed() { var r = Read(); _handle = 0; return r; }

    public void Dispose()
    {
        if (_handle != 0) NvpairNative.nvlist_free(_handle);
        _handle = 0;
    }
}
