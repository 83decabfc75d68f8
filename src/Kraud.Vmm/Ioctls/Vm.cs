using Kraud.Libc;

namespace Kraud.Vmm.Ioctls;

/// <summary>A VM descriptor: memory slots, the in-kernel irqchip and PIT, event fds, vCPU creation.</summary>
public sealed unsafe class Vm : IDisposable
{
    private readonly FileDescriptor _fd;
    private readonly int _vcpuMmapSize;

    internal Vm(FileDescriptor fd, int vcpuMmapSize)
    {
        _fd = fd;
        _vcpuMmapSize = vcpuMmapSize;
    }

    public int Fd => _fd.Fd;

    /// <summary>KVM_SET_USER_MEMORY_REGION: maps host memory at <paramref name="hostAddress"/> into the guest.</summary>
    public void SetUserMemoryRegion(uint slot, ulong guestPhysAddr, ulong size, nint hostAddress)
    {
        var region = new KvmUserspaceMemoryRegion
        {
            Slot = slot, GuestPhysAddr = guestPhysAddr, MemorySize = size, UserspaceAddr = (ulong)hostAddress,
        };
        Native.Check(Native.ioctl(Fd, KvmIoctlNumbers.SetUserMemoryRegion, &region), "KVM_SET_USER_MEMORY_REGION");
    }

    /// <summary>KVM_SET_TSS_ADDR: three pages Intel VMX needs below 4 GiB, outside guest RAM.</summary>
    public void SetTssAddress(ulong address) =>
        Native.Check(Native.ioctl(Fd, KvmIoctlNumbers.SetTssAddr, (nuint)address), "KVM_SET_TSS_ADDR");

    /// <summary>KVM_SET_IDENTITY_MAP_ADDR: one page for VMX's real-mode identity map, outside guest RAM.</summary>
    public void SetIdentityMapAddress(ulong address) =>
        Native.Check(Native.ioctl(Fd, KvmIoctlNumbers.SetIdentityMapAddr, &address), "KVM_SET_IDENTITY_MAP_ADDR");

    /// <summary>KVM_CREATE_IRQCHIP: in-kernel PIC, IOAPIC and local APICs.</summary>
    public void CreateIrqchip() => Native.Check(Native.ioctl(Fd, KvmIoctlNumbers.CreateIrqchip, 0), "KVM_CREATE_IRQCHIP");

    /// <summary>KVM_CREATE_PIT2 with a dummy speaker port, as Linux probes port 0x61.</summary>
    public void CreatePit2()
    {
        var config = new KvmPitConfig { Flags = 1 /* KVM_PIT_SPEAKER_DUMMY */ };
        Native.Check(Native.ioctl(Fd, KvmIoctlNumbers.CreatePit2, &config), "KVM_CREATE_PIT2");
    }

    /// <summary>KVM_IRQ_LINE: drives an interrupt line of the in-kernel irqchip.</summary>
    public void SetIrqLine(uint irq, bool level)
    {
        var arg = new KvmIrqLevel { Irq = irq, Level = level ? 1u : 0u };
        Native.Check(Native.ioctl(Fd, KvmIoctlNumbers.IrqLine, &arg), "KVM_IRQ_LINE");
    }

    /// <summary>KVM_IRQFD: writing to <paramref name="eventFd"/> raises <paramref name="gsi"/> without a system call into us.</summary>
    public void RegisterIrqfd(int eventFd, uint gsi)
    {
        var arg = new KvmIrqfd { Fd = (uint)eventFd, Gsi = gsi };
        Native.Check(Native.ioctl(Fd, KvmIoctlNumbers.Irqfd, &arg), "KVM_IRQFD");
    }

    /// <summary>
    /// KVM_IOEVENTFD: a guest write of <paramref name="length"/> bytes at MMIO <paramref name="address"/> (matching
    /// <paramref name="datamatch"/> when given) signals <paramref name="eventFd"/> instead of exiting to userspace.
    /// </summary>
    public void RegisterIoeventfd(int eventFd, ulong address, uint length, ulong? datamatch)
    {
        var arg = new KvmIoeventfd
        {
            Fd = eventFd, Addr = address, Len = length, Datamatch = datamatch ?? 0,
            Flags = datamatch.HasValue ? 1u /* KVM_IOEVENTFD_FLAG_DATAMATCH */ : 0u,
        };
        Native.Check(Native.ioctl(Fd, KvmIoctlNumbers.Ioeventfd, &arg), "KVM_IOEVENTFD");
    }

    public Vcpu CreateVcpu(int id)
    {
        int fd = Native.Check(Native.ioctl(Fd, KvmIoctlNumbers.CreateVcpu, (nuint)id), "KVM_CREATE_VCPU");
        return new Vcpu(id, new FileDescriptor(fd), _vcpuMmapSize);
    }

    public void Dispose() => _fd.Dispose();
}
