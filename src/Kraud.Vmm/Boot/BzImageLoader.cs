using System.Buffers.Binary;
using Kraud.Vmm.Memory;

namespace Kraud.Vmm.Boot;

/// <summary>
/// Loads a bzImage per the x86 boot protocol: the setup header tells how many 512-byte setup sectors precede the
/// protected-mode kernel, which goes at its preferred address and is entered at +0x200 (the 64-bit entry).
/// </summary>
public static class BzImageLoader
{
    private const ushort MinVersion = 0x020c; // 2.12: xloadflags, so the 64-bit entry can be announced
    private const ushort XlfKernel64 = 1;

    public static bool IsBzImage(ReadOnlySpan<byte> head) =>
        head.Length >= 0x240 && BinaryPrimitives.ReadUInt32LittleEndian(head[BootParams.Header..]) == BootParams.HdrSMagic;

    public static KernelImage Load(GuestMemory memory, SafeHandleFile file, ReadOnlySpan<byte> head)
    {
        ushort version = BinaryPrimitives.ReadUInt16LittleEndian(head[BootParams.Version..]);
        if (version < MinVersion) throw new KernelFormatException($"bzImage boot protocol {version >> 8}.{version & 0xff} is older than 2.12");
        ushort xloadflags = BinaryPrimitives.ReadUInt16LittleEndian(head[0x236..]);
        if ((xloadflags & XlfKernel64) == 0) throw new KernelFormatException("bzImage has no 64-bit entry (XLF_KERNEL_64)");

        int setupSects = head[0x1f1] == 0 ? 4 : head[0x1f1];
        long kernelOffset = (setupSects + 1) * 512L;
        int headerEnd = Math.Min(0x202 + head[0x201], head.Length);
        byte[] setupHeader = head[0x1f1..headerEnd].ToArray();

        ulong prefAddress = BinaryPrimitives.ReadUInt64LittleEndian(head[0x258..]);
        ulong loadAddress = prefAddress >= X86Layout.HighMemoryStart ? prefAddress : X86Layout.BzImageLoadAddress;
        uint initSize = BinaryPrimitives.ReadUInt32LittleEndian(head[0x260..]);

        long kernelSize = file.Length - kernelOffset;
        if (kernelSize <= 0) throw new KernelFormatException("bzImage ends inside its setup sectors");
        ulong footprint = Math.Max((ulong)kernelSize, initSize);
        if (!memory.Contains(loadAddress, footprint))
            throw new KernelFormatException($"bzImage needs 0x{footprint:x} bytes at 0x{loadAddress:x}, beyond guest RAM");
        file.ReadExactly(memory.GetSpan(loadAddress, (int)kernelSize), kernelOffset);

        uint initrdMax = BinaryPrimitives.ReadUInt32LittleEndian(head[0x22c..]);
        uint cmdlineSize = BinaryPrimitives.ReadUInt32LittleEndian(head[BootParams.CmdlineSize..]);
        return new KernelImage(loadAddress + 0x200, setupHeader, loadAddress + footprint, initrdMax == 0 ? 0x37ffffff : initrdMax,
            cmdlineSize == 0 ? 2048 : (int)Math.Min(cmdlineSize + 1, (uint)X86Layout.CmdlineMaxSize)) { Format = "bzImage" };
    }
}
