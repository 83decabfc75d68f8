using Kraud.Vmm.Memory;

namespace Kraud.Vmm.Boot;

/// <summary>Tells a bzImage from an ELF kernel and loads it; places the initrd.</summary>
public static class KernelLoader
{
    public static KernelImage Load(GuestMemory memory, string path)
    {
        using var file = new SafeHandleFile(path);
        var head = new byte[(int)Math.Min(file.Length, 4096)];
        file.ReadExactly(head, 0);
        if (ElfLoader.IsElf(head)) return ElfLoader.Load(memory, file, head);
        if (BzImageLoader.IsBzImage(head)) return BzImageLoader.Load(memory, file, head);
        throw new KernelFormatException($"{path} is neither an ELF nor a bzImage");
    }

    /// <summary>
    /// Puts the initrd at the highest page-aligned address that is in low RAM, below the kernel's
    /// initrd_addr_max and above the kernel, as boot loaders do; returns its address and size.
    /// </summary>
    public static (ulong Address, ulong Size) LoadInitrd(GuestMemory memory, KernelImage kernel, string path)
    {
        using var file = new SafeHandleFile(path);
        ulong size = (ulong)file.Length;
        ulong lowTop = memory.Regions[0].GuestEnd;
        ulong top = Math.Min(lowTop, (ulong)kernel.InitrdAddressMax + 1);
        if (size == 0 || size > top) throw new KernelFormatException($"initrd of {size} bytes does not fit below 0x{top:x}");
        ulong address = (top - size) & ~0xfffUL;
        if (address < kernel.End) throw new KernelFormatException($"initrd of {size} bytes does not fit between the kernel and 0x{top:x}");
        if (size > int.MaxValue) throw new KernelFormatException("initrd larger than 2 GiB");
        file.ReadExactly(memory.GetSpan(address, (int)size), 0);
        return (address, size);
    }
}
