using System.Buffers.Binary;
using Kraud.Vmm.Memory;

namespace Kraud.Vmm.Boot;

/// <summary>
/// Loads an ELF64 x86-64 kernel (vmlinux, or a test guest): each PT_LOAD segment at its physical address. With a
/// PVH entry note (XEN_ELFNOTE_PHYS32_ENTRY, in a PT_NOTE segment) it is entered there in 32-bit mode, else at
/// e_entry in 64-bit mode.
/// </summary>
public static class ElfLoader
{
    private const uint PtLoad = 1, PtNote = 4, XenElfNotePhys32Entry = 18;
    private const int EhdrSize = 64, PhdrSize = 56, MaxPhdrs = 64;

    public static bool IsElf(ReadOnlySpan<byte> head) =>
        head.Length >= 4 && head[0] == 0x7f && head[1] == (byte)'E' && head[2] == (byte)'L' && head[3] == (byte)'F';

    public static KernelImage Load(GuestMemory memory, SafeHandleFile file, ReadOnlySpan<byte> head)
    {
        if (head.Length < EhdrSize) throw new KernelFormatException("ELF header truncated");
        if (head[4] != 2 || head[5] != 1) throw new KernelFormatException("not a little-endian ELF64 file");
        if (BinaryPrimitives.ReadUInt16LittleEndian(head[18..]) != 62) throw new KernelFormatException("ELF machine is not x86-64");
        ulong entry = BinaryPrimitives.ReadUInt64LittleEndian(head[24..]);
        ulong phoff = BinaryPrimitives.ReadUInt64LittleEndian(head[32..]);
        int phentsize = BinaryPrimitives.ReadUInt16LittleEndian(head[54..]);
        int phnum = BinaryPrimitives.ReadUInt16LittleEndian(head[56..]);
        if (phentsize != PhdrSize || phnum == 0 || phnum > MaxPhdrs) throw new KernelFormatException("ELF program headers malformed");

        var phdrs = new byte[phnum * PhdrSize];
        file.ReadExactly(phdrs, (long)phoff);
        ulong end = 0, lowest = ulong.MaxValue;
        ulong? pvh = null;
        bool entryLoaded = false, pvhLoaded = false;
        var loads = new List<(ulong Start, ulong End)>();
        for (int i = 0; i < phnum; i++)
        {
            var ph = phdrs.AsSpan(i * PhdrSize, PhdrSize);
            uint type = BinaryPrimitives.ReadUInt32LittleEndian(ph);
            ulong offset = BinaryPrimitives.ReadUInt64LittleEndian(ph[8..]);
            ulong paddr = BinaryPrimitives.ReadUInt64LittleEndian(ph[24..]);
            ulong filesz = BinaryPrimitives.ReadUInt64LittleEndian(ph[32..]);
            ulong memsz = BinaryPrimitives.ReadUInt64LittleEndian(ph[40..]);
            if (type == PtNote) pvh ??= FindPvhEntry(file, (long)offset, filesz);
            if (type != PtLoad || memsz == 0) continue;
            if (filesz > memsz || memsz > int.MaxValue || !memory.Contains(paddr, memsz))
                throw new KernelFormatException($"ELF segment 0x{paddr:x}+0x{memsz:x} does not fit guest RAM");
            var target = memory.GetSpan(paddr, (int)memsz);
            file.ReadExactly(target[..(int)filesz], (long)offset);
            target[(int)filesz..].Clear();
            end = Math.Max(end, paddr + memsz);
            lowest = Math.Min(lowest, paddr);
            entryLoaded |= entry >= paddr && entry < paddr + memsz;
            loads.Add((paddr, paddr + memsz));
        }
        foreach (var (start, stop) in loads) pvhLoaded |= pvh >= start && pvh < stop;
        if (end == 0) throw new KernelFormatException("ELF has no loadable segment");
        if (!entryLoaded) throw new KernelFormatException($"ELF entry 0x{entry:x} is not inside a loaded segment");
        // The PVH entry is a physical address reached with paging off, so it must be code we loaded below 4 GiB.
        if (pvh is { } p && (!pvhLoaded || p >= X86Layout.MmioGapEnd))
            throw new KernelFormatException($"ELF PVH entry 0x{p:x} is not inside a loaded segment below 4 GiB");
        if (lowest < X86Layout.HighMemoryStart) throw new KernelFormatException($"ELF segment at 0x{lowest:x} overlaps the boot structures below 1 MiB");
        return new KernelImage(entry, [], end, 0x37ffffff, 2048) { PvhEntry = pvh, Format = "ELF" };
    }

    private static ulong? FindPvhEntry(SafeHandleFile file, long offset, ulong size)
    {
        if (size > 64 * 1024) return null;
        var notes = new byte[size];
        file.ReadExactly(notes, offset);
        int at = 0;
        while (at + 12 <= notes.Length)
        {
            int namesz = (int)BinaryPrimitives.ReadUInt32LittleEndian(notes.AsSpan(at));
            int descsz = (int)BinaryPrimitives.ReadUInt32LittleEndian(notes.AsSpan(at + 4));
            uint type = BinaryPrimitives.ReadUInt32LittleEndian(notes.AsSpan(at + 8));
            int nameAt = at + 12, descAt = nameAt + ((namesz + 3) & ~3);
            if (namesz < 0 || descsz < 0 || descAt + descsz > notes.Length) return null;
            if (type == XenElfNotePhys32Entry && namesz >= 3 && notes.AsSpan(nameAt, 3).SequenceEqual("Xen"u8) && descsz >= 4)
                return descsz >= 8 ? BinaryPrimitives.ReadUInt64LittleEndian(notes.AsSpan(descAt)) : BinaryPrimitives.ReadUInt32LittleEndian(notes.AsSpan(descAt));
            at = descAt + ((descsz + 3) & ~3);
        }
        return null;
    }
}
