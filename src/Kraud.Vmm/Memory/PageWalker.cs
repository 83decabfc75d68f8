namespace Kraud.Vmm.Memory;

/// <summary>Translates a guest virtual address through the guest's 4-level page tables (for diagnostics only).</summary>
public static class PageWalker
{
    private const ulong Present = 1, Huge = 0x80, AddressMask = 0x000f_ffff_ffff_f000;

    /// <summary>The guest physical address of <paramref name="va"/> under CR3 <paramref name="cr3"/>, or null when unmapped.</summary>
    public static ulong? Translate(GuestMemory memory, ulong cr3, ulong va)
    {
        ulong table = cr3 & AddressMask;
        for (int level = 3; level >= 0; level--)
        {
            ulong entryAddress = table + (((va >> (12 + 9 * level)) & 0x1ff) * 8);
            if (!memory.Contains(entryAddress, 8)) return null;
            ulong entry = memory.Read<ulong>(entryAddress);
            if ((entry & Present) == 0) return null;
            if (level is 1 or 2 && (entry & Huge) != 0)
            {
                ulong pageMask = (1UL << (12 + 9 * level)) - 1;
                return (entry & AddressMask & ~pageMask) | (va & pageMask);
            }
            table = entry & AddressMask;
        }
        return table | (va & 0xfff);
    }
}
