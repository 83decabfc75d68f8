using System.Buffers.Binary;
using Kraud.Vmm.Memory;

namespace Kraud.Vmm.Boot;

/// <summary>
/// What a PVH entry finds through EBX (Xen's public arch-x86/hvm/start_info.h, version 1): hvm_start_info with
/// the command line, the initrd as the one module, and the memory map as hvm_memmap_table_entry items.
/// </summary>
public sealed class PvhStartInfo
{
    public const uint Magic = 0x336ec578, Version = 1;

    // Offsets into struct hvm_start_info (56 bytes).
    public const int MagicOffset = 0, VersionOffset = 4, FlagsOffset = 8, NrModulesOffset = 12, ModlistPaddrOffset = 16,
        CmdlinePaddrOffset = 24, RsdpPaddrOffset = 32, MemmapPaddrOffset = 40, MemmapEntriesOffset = 48, Size = 56;

    /// <summary>struct hvm_modlist_entry: paddr, size, cmdline_paddr, reserved.</summary>
    public const int ModlistEntrySize = 32;

    /// <summary>struct hvm_memmap_table_entry: addr, size, type (the e820 types), reserved.</summary>
    public const int MemmapEntrySize = 24;

    private readonly byte[] _info = new byte[Size];
    private byte[] _module = [];
    private byte[] _memmap = [];

    public PvhStartInfo(ulong cmdlineAddress)
    {
        BinaryPrimitives.WriteUInt32LittleEndian(_info.AsSpan(MagicOffset), Magic);
        BinaryPrimitives.WriteUInt32LittleEndian(_info.AsSpan(VersionOffset), Version);
        BinaryPrimitives.WriteUInt64LittleEndian(_info.AsSpan(CmdlinePaddrOffset), cmdlineAddress);
        // flags and rsdp_paddr stay 0: no ACPI tables (0 means "not present" in every address field).
    }

    public ReadOnlySpan<byte> Bytes => _info;
    public ReadOnlySpan<byte> ModuleBytes => _module;
    public ReadOnlySpan<byte> MemmapBytes => _memmap;

    public void SetInitrd(ulong address, ulong size)
    {
        _module = new byte[ModlistEntrySize];
        BinaryPrimitives.WriteUInt64LittleEndian(_module, address);
        BinaryPrimitives.WriteUInt64LittleEndian(_module.AsSpan(8), size);
        BinaryPrimitives.WriteUInt32LittleEndian(_info.AsSpan(NrModulesOffset), 1);
        BinaryPrimitives.WriteUInt64LittleEndian(_info.AsSpan(ModlistPaddrOffset), X86Layout.PvhModlistAddress);
    }

    public void SetMemmap(IReadOnlyList<E820Entry> map)
    {
        if (map.Count > X86Layout.PvhMemmapMaxEntries) throw new ArgumentException("too many memory map entries", nameof(map));
        _memmap = new byte[map.Count * MemmapEntrySize];
        for (int i = 0; i < map.Count; i++)
        {
            var e = _memmap.AsSpan(i * MemmapEntrySize, MemmapEntrySize);
            BinaryPrimitives.WriteUInt64LittleEndian(e, map[i].Address);
            BinaryPrimitives.WriteUInt64LittleEndian(e[8..], map[i].Size);
            BinaryPrimitives.WriteUInt32LittleEndian(e[16..], map[i].Type);
        }
        BinaryPrimitives.WriteUInt64LittleEndian(_info.AsSpan(MemmapPaddrOffset), X86Layout.PvhMemmapAddress);
        BinaryPrimitives.WriteUInt32LittleEndian(_info.AsSpan(MemmapEntriesOffset), (uint)map.Count);
    }

    /// <summary>Writes the three structures at their <see cref="X86Layout"/> addresses.</summary>
    public void WriteTo(GuestMemory memory)
    {
        memory.Write(X86Layout.PvhStartInfoAddress, _info);
        memory.Write(X86Layout.PvhModlistAddress, _module);
        memory.Write(X86Layout.PvhMemmapAddress, _memmap);
    }
}
