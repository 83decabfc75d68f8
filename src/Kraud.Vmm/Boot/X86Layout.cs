namespace Kraud.Vmm.Boot;

/// <summary>
/// Where the monitor puts things in guest physical memory, as Firecracker does: boot structures in the first
/// 64 KiB, kernel from 1 MiB, a device hole below 4 GiB where RAM stops and the virtio-mmio windows live.
/// </summary>
public static class X86Layout
{
    public const ulong GdtAddress = 0x500;
    public const ulong IdtAddress = 0x540;
    /// <summary>PVH entry only: hvm_start_info (56 bytes); EBX points here.</summary>
    public const ulong PvhStartInfoAddress = 0x6000;
    /// <summary>PVH entry only: the module list (one hvm_modlist_entry of 32 bytes, the initrd).</summary>
    public const ulong PvhModlistAddress = 0x6040;
    /// <summary>PVH entry only: the memory map, hvm_memmap_table_entry items of 24 bytes up to boot_params.</summary>
    public const ulong PvhMemmapAddress = 0x6080;
    public const int PvhMemmapMaxEntries = (int)((BootParamsAddress - PvhMemmapAddress) / 24);
    public const ulong BootParamsAddress = 0x7000;
    public const ulong BootStackPointer = 0x8ff0;
    public const ulong Pml4Address = 0x9000;
    public const ulong PdptAddress = 0xa000;
    /// <summary>Four page directories of 2 MiB pages identity-map the first 4 GiB (RAM and the device hole).</summary>
    public const ulong PdAddress = 0xb000;
    public const ulong CmdlineAddress = 0x20000;
    public const int CmdlineMaxSize = 0x10000;
    /// <summary>Start of the extended BIOS data area; RAM below it is the guest's first e820 entry.</summary>
    public const ulong EbdaStart = 0x9fc00;
    public const ulong HighMemoryStart = 0x100000;
    /// <summary>Where a bzImage's protected-mode part goes unless it asks elsewhere (16 MiB, Linux's usual pref_address).</summary>
    public const ulong BzImageLoadAddress = 0x1000000;

    public const ulong MmioGapStart = 0xd000_0000;
    public const ulong MmioGapEnd = 0x1_0000_0000;
    public const ulong VirtioMmioBase = 0xd000_0000;
    public const ulong VirtioMmioSize = 0x1000;
    /// <summary>First interrupt line handed to virtio devices (the 8250 takes 4).</summary>
    public const uint VirtioFirstIrq = 5;
    public const ulong TssAddress = 0xfffb_d000;
    public const ulong IdentityMapAddress = 0xfffb_c000;

    /// <summary>Guest RAM regions for <paramref name="bytes"/> of memory: below the device hole, then above 4 GiB.</summary>
    public static List<(ulong GuestBase, ulong Size)> RamRegions(ulong bytes)
    {
        var regions = new List<(ulong, ulong)> { (0, Math.Min(bytes, MmioGapStart)) };
        if (bytes > MmioGapStart) regions.Add((MmioGapEnd, bytes - MmioGapStart));
        return regions;
    }
}
