namespace Kraud.Vmm.Devices;

/// <summary>A device on the port IO or MMIO bus; offsets are relative to the range it was registered at.</summary>
public interface IBusDevice
{
    void Read(ulong offset, Span<byte> data);

    void Write(ulong offset, ReadOnlySpan<byte> data);
}

/// <summary>An interrupt a device raises; the monitor decides how (irqfd, KVM_IRQ_LINE).</summary>
public interface IInterruptLine
{
    void Trigger();
}
