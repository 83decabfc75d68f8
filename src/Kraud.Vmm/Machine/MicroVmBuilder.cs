using System.Globalization;
using Kraud.Libc;
using Kraud.Vmm.Boot;
using Kraud.Vmm.Devices.Legacy;
using Kraud.Vmm.Devices.Virtio;
using Kraud.Vmm.Devices.Virtio.Block;
using Kraud.Vmm.Devices.Virtio.Net;
using Kraud.Vmm.Devices.Virtio.VhostUser;
using Kraud.Vmm.Ioctls;
using Kraud.Vmm.Launch;
using Kraud.Vmm.Memory;
using Microsoft.Extensions.Logging;

namespace Kraud.Vmm.Machine;

/// <summary>
/// Puts a <see cref="MicroVm"/> together from its launch file, in the order that keeps the path to the first guest
/// instruction short: KVM and guest RAM, irqchip and PIT, the kernel, the devices and their wiring to KVM
/// (irqfd, ioeventfd) and to the event loop, the boot structures, the vCPUs' registers (Firecracker's builder.rs).
/// </summary>
internal static class MicroVmBuilder
{
    public static void Build(MicroVm microVm, LaunchFile launch)
    {
        var kvm = microVm.Own(Kvm.Open());
        kvm.Require((KvmIoctlNumbers.CapIrqchip, "KvmCAP_IRQCHIP"), (KvmIoctlNumbers.CapUserMemory, "KvmCAP_USER_MEMORY"),
            (KvmIoctlNumbers.CapIoeventfd, "KvmCAP_IOEVENTFD"), (KvmIoctlNumbers.CapIrqfd, "KvmCAP_IRQFD"),
            (KvmIoctlNumbers.CapPit2, "KvmCAP_PIT2"), (KvmIoctlNumbers.CapImmediateExit, "KvmCAP_IMMEDIATE_EXIT"));
        var cpuid = kvm.GetSupportedCpuid();
        var vm = microVm.Own(kvm.CreateVm());
        // Guest RAM first: on a fresh VM the memslot is installed without waiting; after KvmCREATE_IRQCHIP has
        // registered its devices, the same ioctl waited for a host SRCU grace period (median 0.3 ms against
        // 5.9 ms here, measured with a C probe). The irqchip and PIT that follow then cost 0.1 ms.
        var regions = X86Layout.RamRegions((ulong)launch.MemoryMiB << 20);
        var memory = microVm.Memory = microVm.Own(new GuestMemory(regions, shared: SharedMemory(launch)));
        for (int i = 0; i < memory.Regions.Count; i++)
            vm.SetUserMemoryRegion((uint)i, memory.Regions[i].GuestBase, memory.Regions[i].Size, memory.Regions[i].HostAddress);

        vm.SetTssAddress(X86Layout.TssAddress);
        vm.SetIdentityMapAddress(X86Layout.IdentityMapAddress);
        vm.CreateIrqchip();
        vm.CreatePit2();

        var kernel = KernelLoader.Load(memory, launch.Kernel);
        (ulong, ulong)? initrd = launch.Initrd != null ? KernelLoader.LoadInitrd(memory, kernel, launch.Initrd) : null;

        var console = microVm.Console = microVm.Own(new SerialConsole(launch.SerialLog, microVm.Logger, microVm.Scope));
        microVm.Io.Register(Serial8250.Com1, Serial8250.PortCount, new Serial8250(console.Put, microVm.Own(new IrqfdLine(vm, Serial8250.Com1Irq))));
        microVm.Io.Register(I8042.PortBase, I8042.PortCount, new I8042(() => microVm.Stop(VmmExitCode.PowerOff, "guest powered off (i8042 reset)")));

        var cmdline = launch.Cmdline.Trim();
        int slot = 0;
        foreach (var disk in launch.Disks)
            cmdline += AddVirtio(microVm, vm, slot++, microVm.Own(new VirtioBlock(disk.Path, disk.ReadOnly, Path.GetFileName(disk.Path))));
        foreach (var net in launch.Nets)
            cmdline += AddVirtio(microVm, vm, slot++, microVm.Own(new VirtioNet(microVm.Own(new Tap(net.Tap)), LaunchValidator.ParseMac(net.Mac)!)));
        foreach (var share in launch.Shares)
            cmdline += AddVirtio(microVm, vm, slot++, microVm.Own(new VhostUserFs(share.Tag, share.Socket, microVm.ReportDeviceTrouble)));

        BootStructures.Write(memory, kernel, cmdline, initrd, E820Entry.ForRam(regions), launch.Vcpus);

        VcpuKicker.EnsureInstalled();
        for (int i = 0; i < launch.Vcpus; i++)
        {
            var vcpu = microVm.Own(vm.CreateVcpu(i));
            int accepted = VcpuSetup.Apply(vcpu, cpuid, launch.Vcpus, kernel.BootEntry, kernel.Mode);
            if (accepted < VcpuSetup.BootMsrs().Length) microVm.Logger.LogDebug("KVM accepted {Accepted} of the boot MSRs", accepted);
            microVm.Vcpus.Add(new VcpuLoop(vcpu, microVm));
        }
        // Logged by the event loop's thread once the vCPUs run: formatting and writing it is off the path to the
        // first guest instruction.
        microVm.Started = () =>
        {
            using (microVm.Logger.BeginScope(microVm.Scope))
                microVm.Logger.LogInformation("vm started: {Format} kernel entry 0x{Entry:x} ({Mode}), {MemoryMiB} MiB, {Vcpus} vcpus, cmdline \"{Cmdline}\"",
                    kernel.Format, kernel.BootEntry, kernel.Mode == EntryMode.Pvh32 ? "PVH, 32-bit" : "64-bit", launch.MemoryMiB, launch.Vcpus, cmdline);
        };
    }

    /// <summary>
    /// Puts a virtio device on the MMIO bus at <paramref name="slot"/>: its interrupt by irqfd, each queue's notify
    /// by ioeventfd into the event loop, and the host fds the device itself waits on (a tap) into the event loop
    /// too, handled under the transport's lock as queue work is. Returns its kernel command-line announcement.
    /// </summary>
    private static string AddVirtio(MicroVm microVm, Vm vm, int slot, IVirtioDevice device)
    {
        ulong address = X86Layout.VirtioMmioBase + (ulong)slot * X86Layout.VirtioMmioSize;
        uint irq = X86Layout.VirtioFirstIrq + (uint)slot;
        var line = microVm.Own(new IrqfdLine(vm, irq));
        var transport = new MmioTransport(device, microVm.Memory, line);
        if (device is IVhostUserDevice backed) return WireVhostUser(microVm, vm, address, irq, transport, backed, line);
        var notifyFds = new FileDescriptor[transport.QueueCount];
        for (int q = 0; q < transport.QueueCount; q++)
        {
            var fd = notifyFds[q] = microVm.Own(EventLoop.NewEventFd());
            vm.RegisterIoeventfd(fd.Fd, address + MmioTransport.QueueNotifyOffset, 4, (ulong)q);
            int queue = q;
            microVm.Events.Add(fd.Fd, () => true, () =>
            {
                EventLoop.Drain(fd.Fd);
                transport.Notify(queue);
            });
        }
        // A notify that misses the ioeventfd (a queue index we did not register) still reaches the loop.
        transport.QueueNotified = q => { if (q >= 0 && q < notifyFds.Length) EventLoop.Signal(notifyFds[q].Fd); };
        foreach (var source in device.HostEvents)
            microVm.Events.Add(source.Fd, source.Wanted, () => { lock (transport.Sync) source.OnReady(); });
        microVm.Mmio.Register(address, X86Layout.VirtioMmioSize, transport);
        return string.Create(CultureInfo.InvariantCulture, $" virtio_mmio.device=4K@0x{address:x}:{irq}");
    }

    /// <summary>
    /// A device a vhost-user back end serves: each queue's notify write signals an eventfd (KVM_IOEVENTFD) that only
    /// the back end reads, and the back end raises the device's line through the irqfd's own eventfd; our event
    /// loop only watches the back end's socket, to report it when it dies.
    /// </summary>
    private static string WireVhostUser(MicroVm microVm, Vm vm, ulong address, uint irq, MmioTransport transport, IVhostUserDevice device, IrqfdLine line)
    {
        var kicks = new int[transport.QueueCount];
        for (int q = 0; q < kicks.Length; q++)
        {
            kicks[q] = microVm.Own(EventLoop.NewEventFd()).Fd;
            vm.RegisterIoeventfd(kicks[q], address + MmioTransport.QueueNotifyOffset, 4, (ulong)q);
        }
        device.Wire(kicks, line.EventFd);
        foreach (var source in device.HostEvents)
            microVm.Events.Add(source.Fd, source.Wanted, () => { lock (transport.Sync) source.OnReady(); });
        microVm.Mmio.Register(address, X86Layout.VirtioMmioSize, transport);
        return string.Create(CultureInfo.InvariantCulture, $" virtio_mmio.device=4K@0x{address:x}:{irq}");
    }

    /// <summary>
    /// Guest RAM in a memfd, mapped shared, only for a VM with a share: a vhost-user back end must map it. Other VMs
    /// keep anonymous memory (docs/kvm.md, "Guest memory", has the measurements behind the choice).
    /// KRAUD_VMM_SHARED_MEMORY=1 gives every VM a memfd, for bench/virtiofs's comparison.
    /// </summary>
    private static bool SharedMemory(LaunchFile launch) =>
        launch.Shares.Count > 0 || Environment.GetEnvironmentVariable("KRAUD_VMM_SHARED_MEMORY") == "1";
}
