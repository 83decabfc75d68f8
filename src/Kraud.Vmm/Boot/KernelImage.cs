namespace Kraud.Vmm.Boot;

/// <summary>
/// A kernel placed in guest memory: where to enter it, the setup header to start boot_params
/// from (bzImage only), and the first free address after it.
/// </summary>
public sealed record KernelImage(ulong Entry, byte[] SetupHeader, ulong End, uint InitrdAddressMax, int CmdlineSizeMax)
{
    /// <summary>
    /// The PVH entry (XEN_ELFNOTE_PHYS32_ENTRY) an ELF kernel announces, if any: when present the kernel is entered
    /// there in 32-bit protected mode with EBX = hvm_start_info, not at <see cref="Entry"/> in 64-bit mode.
    /// </summary>
    public ulong? PvhEntry { get; init; }

    /// <summary>Where the first instruction is: the PVH entry if there is one, else the 64-bit entry.</summary>
    public ulong BootEntry => PvhEntry ?? Entry;

    public EntryMode Mode => PvhEntry != null ? EntryMode.Pvh32 : EntryMode.LongMode;

    public string Format { get; init; } = "";
}

/// <summary>How the boot vCPU starts: Linux's 64-bit boot protocol (boot_params in RSI) or PVH (hvm_start_info in EBX).</summary>
public enum EntryMode
{
    LongMode,
    Pvh32,
}

/// <summary>The kernel file is not something this monitor can boot.</summary>
public sealed class KernelFormatException(string message) : Exception(message);
