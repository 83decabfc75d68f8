using Kraud.Libc;
using Kraud.Vmm.Boot;
using Kraud.Vmm.Ioctls;
using Kraud.Vmm.Memory;

namespace Kraud.Vmm.Tests;

/// <summary>The thin ioctl layer against the real /dev/kvm, one call at a time.</summary>
public sealed class KvmIoctlTests
{
    [Fact]
    public void SystemDescriptor_ReportsCapabilities_CpuidAndRunAreaSize()
    {
        using var kvm = Ioctls.Kvm.Open();
        Assert.True(kvm.CheckExtension(KvmIoctlNumbers.CapIrqchip) > 0);
        Assert.True(kvm.VcpuMmapSize >= 4096);
        var cpuid = kvm.GetSupportedCpuid();
        Assert.Contains(cpuid, e => e.Function == 0 && e.Eax >= 1); // highest basic leaf
        Assert.Contains(cpuid, e => e.Function == 0x8000_0001 && (e.Edx & (1u << 29)) != 0); // long mode
        var ex = Assert.Throws<KvmException>(() => kvm.Require((9999, "KVM_CAP_NONSENSE")));
        Assert.Contains("KVM_CAP_NONSENSE", ex.Message);
    }

    [Fact]
    public void OpeningSomethingThatIsNotKvm_FailsTheApiVersionCheck()
    {
        var ex = Assert.Throws<KvmException>(() => Ioctls.Kvm.Open("/dev/null"));
        Assert.Contains("need 12", ex.Message);
    }

    [Fact]
    public void VmDescriptor_IrqchipPitLinesAndEventFds()
    {
        using var kvm = Ioctls.Kvm.Open();
        using var vm = kvm.CreateVm();
        vm.SetTssAddress(X86Layout.TssAddress);
        vm.SetIdentityMapAddress(X86Layout.IdentityMapAddress);
        vm.CreateIrqchip();
        vm.CreatePit2();
        vm.SetIrqLine(4, true);
        vm.SetIrqLine(4, false);
        using var memory = new GuestMemory([(0, 16 << 20)]);
        vm.SetUserMemoryRegion(0, 0, memory.Regions[0].Size, memory.Regions[0].HostAddress);

        using var irq = new FileDescriptor(Native.eventfd(0, Native.EFD_CLOEXEC));
        vm.RegisterIrqfd(irq.Fd, 5);
        using var notify = new FileDescriptor(Native.eventfd(0, Native.EFD_CLOEXEC));
        vm.RegisterIoeventfd(notify.Fd, X86Layout.VirtioMmioBase + 0x50, 4, 0);
        // The same address and match twice is a conflict KVM reports.
        var ex = Assert.Throws<LibcException>(() => vm.RegisterIoeventfd(notify.Fd, X86Layout.VirtioMmioBase + 0x50, 4, 0));
        Assert.Equal(Errno.EEXIST, ex.Errno);
    }

    [Fact]
    public void VcpuDescriptor_RegistersRoundTrip_InTheLongModeEntryState()
    {
        using var kvm = Ioctls.Kvm.Open();
        using var vm = kvm.CreateVm();
        vm.CreateIrqchip();
        using var vcpu = vm.CreateVcpu(0);
        int accepted = VcpuSetup.Apply(vcpu, kvm.GetSupportedCpuid(), 1, 0x200000);
        Assert.True(accepted > 0);
        var regs = vcpu.GetRegs();
        Assert.Equal(0x200000UL, regs.Rip);
        Assert.Equal(X86Layout.BootParamsAddress, regs.Rsi);
        var sregs = vcpu.GetSregs();
        Assert.Equal(BootStructures.CodeSelector, sregs.Cs.Selector);
        Assert.Equal(1, sregs.Cs.L);
        Assert.Equal(X86Layout.Pml4Address, sregs.Cr3);
        Assert.Equal(0x500UL, sregs.Efer & 0x500); // LME | LMA
        Assert.Equal(0x37f, vcpu.GetFpu().Fcw);
        unsafe
        {
            var lapic = vcpu.GetLapic();
            Assert.Equal(7u, (*(uint*)(lapic.Regs + 0x350) >> 8) & 7); // LINT0: ExtINT
            Assert.Equal(4u, (*(uint*)(lapic.Regs + 0x360) >> 8) & 7); // LINT1: NMI
        }
    }
}
