namespace Kraud.Agent.Kvm.Boot;

/// <summary>
/// A kernel placed in guest memory: where to enter it in 64-bit mode, the setup header to start boot_params
/// from (bzImage only), and the first free address after it.
/// </summary>
public sealed record KernelImage(ulong Entry, byte[] SetupHeader, ulong End, uint InitrdAddressMax, int CmdlineSizeMax)
{
    /// <summary>The PVH entry (XEN_ELFNOTE_PHYS32_ENTRY) an ELF kernel announces, if any; a 32-bit entry we record but do not use.</summary>
    public ulong? PvhEntry { get; init; }

    public string Format { get; init; } = "";
}

/// <summary>The kernel file is not something this monitor can boot.</summary>
public sealed class KernelFormatException(string message) : Exception(message);
