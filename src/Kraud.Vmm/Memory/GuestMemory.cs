using System.Runtime.CompilerServices;
using Kraud.Libc;

namespace Kraud.Vmm.Memory;

/// <summary>
/// Guest RAM as a set of regions addressed by guest physical address. Every access is bounds-checked and must
/// lie within one region, so a guest-supplied address can never reach host memory outside the guest.
/// </summary>
public sealed unsafe class GuestMemory : IDisposable
{
    private readonly GuestRegion[] _regions;
    private readonly FileDescriptor? _memfd;

    /// <summary>
    /// Guest RAM for <paramref name="layout"/>: anonymous private memory, or with <paramref name="shared"/> one memfd
    /// holding every region back to back, mapped MAP_SHARED and sealed against shrinking and growing, so another
    /// process (a vhost-user back end) can map it and neither side can pull pages from under the other (a
    /// shrunk memfd would SIGBUS the VMM on the next guest access).
    /// </summary>
    public GuestMemory(IReadOnlyList<(ulong GuestBase, ulong Size)> layout, bool shared = false)
    {
        _regions = new GuestRegion[layout.Count];
        try
        {
            if (shared) _memfd = CreateMemfd(layout.Sum(r => (long)r.Size));
            ulong offset = 0;
            for (int i = 0; i < layout.Count; i++)
            {
                _regions[i] = new GuestRegion(layout[i].GuestBase, layout[i].Size, _memfd?.Fd ?? -1, offset);
                offset += layout[i].Size;
            }
        }
        catch
        {
            Dispose();
            throw;
        }
    }

    public IReadOnlyList<GuestRegion> Regions => _regions;

    /// <summary>The memfd behind shared guest RAM (for SET_MEM_TABLE), or -1 when RAM is anonymous.</summary>
    public int Memfd => _memfd?.Fd ?? -1;

    private static FileDescriptor CreateMemfd(long size)
    {
        var fd = new FileDescriptor(Native.Check(Native.memfd_create("kraud-guest-ram", Native.MFD_CLOEXEC | Native.MFD_ALLOW_SEALING), "memfd_create"));
        try
        {
            Native.Check(Native.ftruncate(fd.Fd, size), $"ftruncate guest memfd ({size} bytes)");
            Native.Check(Native.fcntl(fd.Fd, Native.F_ADD_SEALS, Native.F_SEAL_SHRINK | Native.F_SEAL_GROW | Native.F_SEAL_SEAL), "F_ADD_SEALS");
            return fd;
        }
        catch
        {
            fd.Dispose();
            throw;
        }
    }

    /// <summary>Total RAM in bytes.</summary>
    public ulong Size { get { ulong s = 0; foreach (var r in _regions) s += r.Size; return s; } }

    public bool Contains(ulong gpa, ulong length) => Find(gpa, length) != null;

    /// <summary>A span over guest memory; valid while this object lives. Throws when the range leaves guest RAM.</summary>
    public Span<byte> GetSpan(ulong gpa, int length)
    {
        if (length < 0) throw new ArgumentOutOfRangeException(nameof(length));
        var region = Find(gpa, (ulong)length) ?? throw new GuestMemoryException(gpa, (ulong)length);
        return new Span<byte>(region.HostPointer(gpa), length);
    }

    /// <summary>Where guest address <paramref name="gpa"/> is in our address space (for a vhost-user back end's vring addresses).</summary>
    public nint HostAddress(ulong gpa, ulong length)
    {
        var region = Find(gpa, length) ?? throw new GuestMemoryException(gpa, length);
        return (nint)region.HostPointer(gpa);
    }

    public void Write(ulong gpa, ReadOnlySpan<byte> data) => data.CopyTo(GetSpan(gpa, data.Length));

    public void Read(ulong gpa, Span<byte> destination) => GetSpan(gpa, destination.Length).CopyTo(destination);

    public T Read<T>(ulong gpa) where T : unmanaged => Unsafe.ReadUnaligned<T>(ref GetSpan(gpa, sizeof(T))[0]);

    public void Write<T>(ulong gpa, T value) where T : unmanaged => Unsafe.WriteUnaligned(ref GetSpan(gpa, sizeof(T))[0], value);

    /// <summary>A store the guest must see after every earlier store (a virtqueue's idx after its ring entry).</summary>
    public void WriteUInt16Release(ulong gpa, ushort value)
    {
        ref byte b = ref GetSpan(gpa, 2)[0];
        Interlocked.MemoryBarrier();
        Volatile.Write(ref Unsafe.As<byte, ushort>(ref b), value);
    }

    /// <summary>A load ordered before every later load (a virtqueue's idx before its ring entries).</summary>
    public ushort ReadUInt16Acquire(ulong gpa)
    {
        ref byte b = ref GetSpan(gpa, 2)[0];
        ushort v = Volatile.Read(ref Unsafe.As<byte, ushort>(ref b));
        Interlocked.MemoryBarrier();
        return v;
    }

    private GuestRegion? Find(ulong gpa, ulong length)
    {
        foreach (var r in _regions)
            if (r.Contains(gpa, length)) return r;
        return null;
    }

    public void Dispose()
    {
        foreach (var r in _regions) r?.Dispose();
        _memfd?.Dispose();
    }
}
