using Kraud.Libc;

namespace Kraud.Vmm.Memory;

/// <summary>
/// One mapping that backs a contiguous range of guest physical memory: anonymous and private, or a range of the
/// guest's memfd mapped shared (so a vhost-user back end that maps the same memfd sees the guest's stores).
/// </summary>
public sealed unsafe class GuestRegion : IDisposable
{
    private const ulong GuardSize = 4096;
    private const int MapFixed = 0x10;
    private byte* _host;

    public GuestRegion(ulong guestBase, ulong size) : this(guestBase, size, -1, 0) { }

    /// <summary>A region backed by <paramref name="memfd"/> from <paramref name="fileOffset"/> (MAP_SHARED); -1: anonymous.</summary>
    public GuestRegion(ulong guestBase, ulong size, int memfd, ulong fileOffset)
    {
        GuestBase = guestBase;
        Size = size;
        // Guard pages on both sides: a host pointer that runs off guest RAM faults instead of reaching other memory,
        // and the mapping never merges with a neighbour, so smaps shows guest RAM as its own line.
        // NORESERVE: guest RAM is touched lazily; a 256 MiB guest that boots a small kernel costs what it uses.
        void* reserved = Native.mmap(null, (nuint)(size + 2 * GuardSize), 0, Native.MAP_PRIVATE | Native.MAP_ANONYMOUS | Native.MAP_NORESERVE, -1, 0);
        if (reserved == (void*)-1) throw LibcException.FromLastError($"mmap guest memory ({size} bytes)");
        int flags = memfd < 0 ? Native.MAP_PRIVATE | Native.MAP_ANONYMOUS : Native.MAP_SHARED;
        void* p = Native.mmap((byte*)reserved + GuardSize, (nuint)size, Native.PROT_READ | Native.PROT_WRITE,
            flags | Native.MAP_NORESERVE | MapFixed, memfd, (long)fileOffset);
        if (p == (void*)-1)
        {
            var error = LibcException.FromLastError($"mmap guest memory ({size} bytes)");
            Native.munmap(reserved, (nuint)(size + 2 * GuardSize));
            throw error;
        }
        _host = (byte*)p;
        FileOffset = fileOffset;
        if (memfd < 0) NameMapping(p, size); // a memfd mapping is named by the memfd ("/memfd:kraud-guest-ram")
    }

    /// <summary>
    /// Labels the mapping "[anon:kraud-guest-ram]" in /proc/PID/maps and smaps (Linux 5.17+, best effort): the VMM's
    /// own memory can then be told from the guest's at a glance.
    /// </summary>
    private static void NameMapping(void* address, ulong size)
    {
        const int PrSetVma = 0x53564d41, PrSetVmaAnonName = 0;
        ReadOnlySpan<byte> name = "kraud-guest-ram\0"u8;
        fixed (byte* n = name) Native.prctl(PrSetVma, PrSetVmaAnonName, (nuint)address, (nuint)size, (nuint)n);
    }

    public ulong GuestBase { get; }
    public ulong Size { get; }
    public ulong GuestEnd => GuestBase + Size;
    public nint HostAddress => (nint)_host;

    /// <summary>Where this region starts in the guest's memfd (0 for anonymous memory).</summary>
    public ulong FileOffset { get; }

    public bool Contains(ulong gpa, ulong length) => gpa >= GuestBase && length <= Size && gpa - GuestBase <= Size - length;

    internal byte* HostPointer(ulong gpa) => _host + (gpa - GuestBase);

    public void Dispose()
    {
        if (_host == null) return;
        Native.munmap(_host - GuardSize, (nuint)(Size + 2 * GuardSize));
        _host = null;
    }
}
