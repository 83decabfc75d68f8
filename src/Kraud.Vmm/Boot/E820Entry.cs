namespace Kraud.Vmm.Boot;

/// <summary>One entry of the BIOS memory map the guest reads from boot_params.</summary>
public readonly record struct E820Entry(ulong Address, ulong Size, uint Type)
{
    public const uint Ram = 1, Reserved = 2;

    /// <summary>The map for guest RAM laid out by <see cref="X86Layout.RamRegions"/>: low RAM below the EBDA, then RAM from 1 MiB.</summary>
    public static List<E820Entry> ForRam(IReadOnlyList<(ulong GuestBase, ulong Size)> regions)
    {
        var map = new List<E820Entry> { new(0, X86Layout.EbdaStart, Ram) };
        foreach (var (start, size) in regions)
        {
            ulong from = Math.Max(start, X86Layout.HighMemoryStart);
            ulong end = start + size;
            if (end > from) map.Add(new E820Entry(from, end - from, Ram));
        }
        return map;
    }
}
