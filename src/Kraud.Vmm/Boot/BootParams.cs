using System.Buffers.Binary;

namespace Kraud.Vmm.Boot;

/// <summary>
/// The Linux zero page (struct boot_params, Documentation/arch/x86/boot.rst): the setup header, the command
/// line pointer, the initrd and the e820 map, written as one 4 KiB page.
/// </summary>
public sealed class BootParams
{
    // Offsets into struct boot_params.
    public const int ExtRamdiskImage = 0x0c0, ExtRamdiskSize = 0x0c4, ExtCmdLinePtr = 0x0c8, E820Entries = 0x1e8,
        SetupHeader = 0x1f1, BootFlag = 0x1fe, Header = 0x202, Version = 0x206, TypeOfLoader = 0x210, LoadFlags = 0x211,
        RamdiskImage = 0x218, RamdiskSize = 0x21c, HeapEndPtr = 0x224, CmdLinePtr = 0x228, KernelAlignment = 0x230,
        CmdlineSize = 0x238, E820Table = 0x2d0;

    public const int Size = 4096, MaxE820Entries = 128;
    public const uint HdrSMagic = 0x53726448;
    private const byte CanUseHeap = 0x80;

    private readonly byte[] _page = new byte[Size];

    /// <summary>Starts from the kernel's own setup header (bzImage), or from a minimal one (ELF).</summary>
    public BootParams(ReadOnlySpan<byte> setupHeader)
    {
        if (setupHeader.IsEmpty)
        {
            BinaryPrimitives.WriteUInt16LittleEndian(_page.AsSpan(BootFlag), 0xaa55);
            BinaryPrimitives.WriteUInt32LittleEndian(_page.AsSpan(Header), HdrSMagic);
            BinaryPrimitives.WriteUInt32LittleEndian(_page.AsSpan(KernelAlignment), 0x0100_0000);
        }
        else
        {
            setupHeader[..Math.Min(setupHeader.Length, Size - SetupHeader)].CopyTo(_page.AsSpan(SetupHeader));
        }
        _page[TypeOfLoader] = 0xff; // "undefined" boot loader id
        _page[LoadFlags] |= CanUseHeap;
        BinaryPrimitives.WriteUInt16LittleEndian(_page.AsSpan(HeapEndPtr), 0xfe00);
    }

    public ReadOnlySpan<byte> Bytes => _page;

    public void SetCommandLine(ulong address, int lengthWithNul)
    {
        BinaryPrimitives.WriteUInt32LittleEndian(_page.AsSpan(CmdLinePtr), (uint)address);
        BinaryPrimitives.WriteUInt32LittleEndian(_page.AsSpan(ExtCmdLinePtr), (uint)(address >> 32));
        BinaryPrimitives.WriteUInt32LittleEndian(_page.AsSpan(CmdlineSize), (uint)lengthWithNul);
    }

    public void SetInitrd(ulong address, ulong size)
    {
        BinaryPrimitives.WriteUInt32LittleEndian(_page.AsSpan(RamdiskImage), (uint)address);
        BinaryPrimitives.WriteUInt32LittleEndian(_page.AsSpan(RamdiskSize), (uint)size);
        BinaryPrimitives.WriteUInt32LittleEndian(_page.AsSpan(ExtRamdiskImage), (uint)(address >> 32));
        BinaryPrimitives.WriteUInt32LittleEndian(_page.AsSpan(ExtRamdiskSize), (uint)(size >> 32));
    }

    public void SetE820(IReadOnlyList<E820Entry> map)
    {
        if (map.Count > MaxE820Entries) throw new ArgumentException("too many e820 entries", nameof(map));
        _page[E820Entries] = (byte)map.Count;
        for (int i = 0; i < map.Count; i++)
        {
            var e = _page.AsSpan(E820Table + i * 20, 20);
            BinaryPrimitives.WriteUInt64LittleEndian(e, map[i].Address);
            BinaryPrimitives.WriteUInt64LittleEndian(e[8..], map[i].Size);
            BinaryPrimitives.WriteUInt32LittleEndian(e[16..], map[i].Type);
        }
    }
}
