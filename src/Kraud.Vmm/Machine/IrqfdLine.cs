using Kraud.Libc;
using Kraud.Vmm.Devices;
using Kraud.Vmm.Ioctls;

namespace Kraud.Vmm.Machine;

/// <summary>An interrupt line wired with KVM_IRQFD: triggering it is one eventfd write, from any thread.</summary>
internal sealed unsafe class IrqfdLine : IInterruptLine, IDisposable
{
    private readonly FileDescriptor _eventFd;

    public IrqfdLine(Vm vm, uint gsi)
    {
        _eventFd = new FileDescriptor(Native.Check(Native.eventfd(0, Native.EFD_CLOEXEC | Native.EFD_NONBLOCK), "eventfd"));
        vm.RegisterIrqfd(_eventFd.Fd, gsi);
        Gsi = gsi;
    }

    public uint Gsi { get; }

    /// <summary>The eventfd behind the line, for a process that raises it itself (a vhost-user back end's call fd).</summary>
    public int EventFd => _eventFd.Fd;

    public void Trigger()
    {
        ulong one = 1;
        Native.write(_eventFd.Fd, &one, 8); // EAGAIN means the counter is already non-zero: the interrupt is pending anyway
    }

    public void Dispose() => _eventFd.Dispose();
}
