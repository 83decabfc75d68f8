using System.Text;
using Kraud.Vmm.Memory;

namespace Kraud.Vmm.Boot;

/// <summary>
/// Writes what an entry needs before the first instruction: command line, boot_params with the e820 map,
/// identity page tables for the first 4 GiB and a GDT with Linux's __BOOT_CS (0x10) and __BOOT_DS (0x18) for the
/// 64-bit entry; for a PVH entry also the 32-bit code and TSS descriptors and hvm_start_info with the same map;
/// and the MP tables that list the vCPUs.
/// </summary>
public static class BootStructures
{
    public const ushort CodeSelector = 0x10, DataSelector = 0x18, TssSelector = 0x20;

    /// <summary>PVH entry: flat 32-bit code and a 32-bit TSS with limit 0x67, as the PVH boot ABI asks (data is 0x18).</summary>
    public const ushort Code32Selector = 0x08, Tss32Selector = 0x28;

    /// <summary>Flat 32- and 64-bit code, flat data, and TSSs (KVM wants a usable TR), indexed by selector / 8.</summary>
    public static readonly ulong[] Gdt =
    [
        0,
        GdtEntry(0xc09b, 0, 0xfffff), // 0x08: code, 32-bit protected mode (PVH)
        GdtEntry(0xa09b, 0, 0xfffff), // 0x10: code, long mode
        GdtEntry(0xc093, 0, 0xfffff), // 0x18: data, 4 GiB, 32-bit
        GdtEntry(0x808b, 0, 0xfffff), // 0x20: busy 64-bit TSS
        GdtEntry(0x008b, 0, 0x67), // 0x28: busy 32-bit TSS (PVH)
    ];

    public static ulong GdtEntry(ushort flags, uint baseAddress, uint limit) =>
        ((ulong)(baseAddress & 0xff000000) << 32) | ((ulong)(flags & 0xf0ff) << 40) | ((ulong)(limit & 0xf0000) << 32)
        | ((ulong)(baseAddress & 0x00ffffff) << 16) | (limit & 0xffff);

    public static void Write(GuestMemory memory, KernelImage kernel, string cmdline, (ulong Address, ulong Size)? initrd,
        IReadOnlyList<E820Entry> e820, int vcpus = 1)
    {
        var cmd = Encoding.ASCII.GetBytes(cmdline + "\0");
        if (cmd.Length > kernel.CmdlineSizeMax) throw new KernelFormatException($"command line of {cmd.Length} bytes exceeds the kernel's {kernel.CmdlineSizeMax}");
        memory.Write(X86Layout.CmdlineAddress, cmd);

        var bootParams = new BootParams(kernel.SetupHeader);
        bootParams.SetCommandLine(X86Layout.CmdlineAddress, cmd.Length);
        if (initrd is { } rd) bootParams.SetInitrd(rd.Address, rd.Size);
        bootParams.SetE820(e820);
        memory.Write(X86Layout.BootParamsAddress, bootParams.Bytes);

        if (kernel.PvhEntry != null)
        {
            var startInfo = new PvhStartInfo(X86Layout.CmdlineAddress);
            if (initrd is { } module) startInfo.SetInitrd(module.Address, module.Size);
            startInfo.SetMemmap(e820);
            startInfo.WriteTo(memory);
        }

        memory.Write(MpTable.Address, MpTable.Build(vcpus));

        for (int i = 0; i < Gdt.Length; i++) memory.Write(X86Layout.GdtAddress + (ulong)i * 8, Gdt[i]);
        memory.Write(X86Layout.IdtAddress, 0UL);

        // PML4[0] -> PDPT; PDPT[0..3] -> four page directories of 2 MiB pages covering 0..4 GiB.
        memory.Write(X86Layout.Pml4Address, X86Layout.PdptAddress | 0x3);
        for (ulong g = 0; g < 4; g++)
        {
            ulong pd = X86Layout.PdAddress + g * 0x1000;
            memory.Write(X86Layout.PdptAddress + g * 8, pd | 0x3);
            for (ulong i = 0; i < 512; i++)
                memory.Write(pd + i * 8, ((g << 30) + (i << 21)) | 0x83); // present, writable, 2 MiB page
        }
    }
}
