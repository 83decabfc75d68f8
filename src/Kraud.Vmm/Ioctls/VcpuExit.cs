namespace Kraud.Vmm.Ioctls;

/// <summary>Why KVM_RUN returned, reduced to what a monitor acts on.</summary>
public enum VcpuExitKind
{
    IoIn,
    IoOut,
    MmioRead,
    MmioWrite,
    Hlt,
    Shutdown,
    FailEntry,
    InternalError,
    SystemEvent,
    Interrupted,
    Unknown,
}

/// <summary>
/// One decoded KVM_RUN exit. <see cref="Data"/> points into the mapped kvm_run area: for reads the handler fills
/// it and KVM hands it to the guest on the next KVM_RUN, so it is valid only until then.
/// </summary>
public readonly ref struct VcpuExit
{
    public VcpuExit(VcpuExitKind kind, ulong address, Span<byte> data, uint count, uint rawReason, ulong detail)
    {
        Kind = kind;
        Address = address;
        Data = data;
        Count = count;
        RawReason = rawReason;
        Detail = detail;
    }

    public VcpuExitKind Kind { get; }

    /// <summary>The port (IO) or guest physical address (MMIO).</summary>
    public ulong Address { get; }

    /// <summary>IO: <see cref="Count"/> items of the access size back to back; MMIO: the access.</summary>
    public Span<byte> Data { get; }

    /// <summary>IO: how many items a string instruction (rep outs/ins) moves; 1 otherwise.</summary>
    public uint Count { get; }

    public uint RawReason { get; }

    /// <summary>FAIL_ENTRY: hardware reason; INTERNAL_ERROR: suberror; SYSTEM_EVENT: type.</summary>
    public ulong Detail { get; }
}
