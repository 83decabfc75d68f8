using System.Buffers.Binary;

namespace Kraud.Vmm.Tests;

/// <summary>
/// Wraps a flat 64-bit guest (linked at 16 MiB + 0x200) in a bzImage: one setup sector after the boot sector with a
/// 2.15 setup header announcing XLF_KERNEL_64, then the protected-mode part whose +0x200 is the 64-bit entry.
/// </summary>
public static class BzImageBuilder
{
    public static byte[] Build(byte[] flatAt64BitEntry)
    {
        const int setupSects = 1, setupSize = (setupSects + 1) * 512;
        var image = new byte[setupSize + 0x200 + flatAt64BitEntry.Length];
        var h = image.AsSpan();
        h[0x1f1] = setupSects;
        BinaryPrimitives.WriteUInt16LittleEndian(h[0x1fe..], 0xaa55);
        h[0x200] = 0xeb; // jmp short over the header, whose length the jump encodes
        h[0x201] = 0x66;
        BinaryPrimitives.WriteUInt32LittleEndian(h[0x202..], 0x53726448); // "HdrS"
        BinaryPrimitives.WriteUInt16LittleEndian(h[0x206..], 0x020f);
        h[0x211] = 1; // LOADED_HIGH
        BinaryPrimitives.WriteUInt32LittleEndian(h[0x22c..], 0x37ffffff); // initrd_addr_max
        BinaryPrimitives.WriteUInt32LittleEndian(h[0x230..], 0x200000); // kernel_alignment
        h[0x234] = 1; // relocatable
        BinaryPrimitives.WriteUInt16LittleEndian(h[0x236..], 1); // XLF_KERNEL_64
        BinaryPrimitives.WriteUInt32LittleEndian(h[0x238..], 2047); // cmdline_size
        BinaryPrimitives.WriteUInt64LittleEndian(h[0x258..], 0x1000000); // pref_address
        BinaryPrimitives.WriteUInt32LittleEndian(h[0x260..], 0x100000); // init_size: image plus bss and stack
        h.Slice(setupSize, 0x200).Fill(0xf4); // startup_32 stand-in: hlt
        flatAt64BitEntry.CopyTo(h[(setupSize + 0x200)..]);
        return image;
    }
}
