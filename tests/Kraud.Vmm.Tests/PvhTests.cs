using System.Buffers.Binary;
using System.Text.Json.Nodes;
using Kraud.Vmm.Boot;
using Microsoft.Extensions.Logging;

namespace Kraud.Vmm.Tests;

/// <summary>
/// The PVH entry of ELF kernels (XEN_ELFNOTE_PHYS32_ENTRY), booted for real: the pvh guest's 32-bit part checks
/// its entry state and prints hvm_start_info; its 64-bit e_entry would print that the note was ignored.
/// </summary>
public sealed class PvhTests
{
    private const string InitrdText = "kraud pvh initrd: 0123456789abcdef";

    [Fact]
    public async Task PvhGuest_IsEnteredIn32BitProtectedMode_WithStartInfo_CmdlineAndMemmap()
    {
        using var vm = new VmHarness();
        var disk = Path.Combine(vm.Dir, "disk.img");
        File.WriteAllBytes(disk, new byte[4096]);
        var launch = vm.Launch(TestGuests.Path("pvh"), "console=ttyS0 kraud.test=pvh", memoryMiB: 96);
        launch["disks"] = new JsonArray(new JsonObject { ["path"] = disk, ["readOnly"] = true });
        int code = await vm.RunAsync(launch);
        Assert.True(code == VmmExitCode.PowerOff, vm.Describe(code));
        var lines = vm.Serial.Split('\n');
        Assert.DoesNotContain("64-bit e_entry", vm.Serial);
        Assert.Contains("pvh entry: protected=1 paging=0 interrupts=0 cs=0x8", lines);
        Assert.Contains($"ebx=0x{X86Layout.PvhStartInfoAddress:x}", lines);
        Assert.Contains("magic=0x336ec578 version=1 flags=0x0 rsdp=0x0", lines);
        Assert.Contains("cmdline=console=ttyS0 kraud.test=pvh virtio_mmio.device=4K@0xd0000000:5", lines);
        Assert.Contains("memmap_entries=2", lines);
        Assert.Contains("memmap 0x0 0x9fc00 1", lines); // low RAM below the EBDA, as in e820
        Assert.Contains($"memmap 0x100000 0x{96 * 1024 * 1024 - 0x100000:x} 1", lines); // the rest, from 1 MiB
        Assert.Contains("modules=0", lines);
        Assert.Contains("pvh done", lines);
        Assert.Contains(vm.Logs.Lines, e => e.Message.Contains("ELF kernel entry 0x200000 (PVH, 32-bit)"));
    }

    [Fact]
    public async Task PvhGuest_GetsTheInitrdAsItsOneModule()
    {
        using var vm = new VmHarness();
        var initrd = Path.Combine(vm.Dir, "initrd");
        File.WriteAllText(initrd, InitrdText);
        var launch = vm.Launch(TestGuests.Path("pvh"), memoryMiB: 32);
        launch["initrd"] = initrd;
        int code = await vm.RunAsync(launch);
        Assert.True(code == VmmExitCode.PowerOff, vm.Describe(code));
        var lines = vm.Serial.Split('\n');
        ulong expected = ((32UL << 20) - (ulong)InitrdText.Length) & ~0xfffUL; // same placement as for 64-bit entry
        Assert.Contains("modules=1", lines);
        Assert.Contains($"module 0x{expected:x} {InitrdText.Length} {InitrdText[..24]}", lines);
        Assert.Contains($"memmap 0x100000 0x{32 * 1024 * 1024 - 0x100000:x} 1", lines);
        Assert.Contains("pvh done", lines);
    }

    [Fact]
    public async Task ElfWithoutTheNote_StillTakesThe64BitEntry_WithBootParams()
    {
        using var vm = new VmHarness();
        int code = await vm.RunAsync(vm.Launch(TestGuests.Path("bootinfo")));
        Assert.True(code == VmmExitCode.PowerOff, vm.Describe(code));
        Assert.Contains("rsi=0x7000", vm.Serial.Split('\n'));
        Assert.Contains(vm.Logs.Lines, e => e.Message.Contains("ELF kernel entry 0x200000 (64-bit)"));
    }

    [Fact]
    public async Task PvhGuest_TripleFaultingIn32BitMode_EndsWithGuestFaultCode_AndRegisterDump()
    {
        using var vm = new VmHarness();
        int code = await vm.RunAsync(vm.Launch(TestGuests.Path("pvh"), "console=ttyS0 pvh.triple"));
        Assert.True(code == VmmExitCode.GuestFault, vm.Describe(code));
        Assert.Contains("pvh guest: faulting now", vm.Serial);
        var dump = Assert.Single(vm.Logs.Lines, e => e.Level == LogLevel.Error && e.Message.Contains("triple fault"));
        Assert.Contains("efer=0000000000000000", dump.Message); // not long mode
        Assert.Contains("cs=0008", dump.Message);
        Assert.Matches(@"code at rip \(gpa 0x2[0-9a-f]{5}\): 0f0b", dump.Message); // ud2, read with paging off
    }

    [Fact]
    public async Task PvhNotePointingOutsideTheImage_IsRefusedAsAnInvalidLaunchFile()
    {
        using var vm = new VmHarness();
        var image = File.ReadAllBytes(TestGuests.Path("pvh"));
        // The note header: namesz 4, descsz 8, type 18, "Xen\0"; the 8-byte entry follows.
        byte[] header = [4, 0, 0, 0, 8, 0, 0, 0, 18, 0, 0, 0, (byte)'X', (byte)'e', (byte)'n', 0];
        int at = image.AsSpan().IndexOf(header);
        Assert.True(at > 0, "PVH note not found in the pvh guest");
        BinaryPrimitives.WriteUInt64LittleEndian(image.AsSpan(at + header.Length), 0x1000_0000);
        var kernel = Path.Combine(vm.Dir, "kernel");
        File.WriteAllBytes(kernel, image);
        int code = await vm.RunAsync(vm.Launch(kernel));
        Assert.True(code == VmmExitCode.InvalidLaunchFile, vm.Describe(code));
        Assert.Contains(vm.Logs.Lines, e => e.Message.Contains("PVH entry 0x10000000 is not inside a loaded segment"));
        Assert.Equal("", vm.Serial);
    }

    [Fact]
    public void VcpuDescriptor_RegistersRoundTrip_InThePvhEntryState()
    {
        using var kvm = Ioctls.Kvm.Open();
        using var vm = kvm.CreateVm();
        vm.CreateIrqchip();
        using var vcpu = vm.CreateVcpu(0);
        VcpuSetup.Apply(vcpu, kvm.GetSupportedCpuid(), 1, 0x200000, EntryMode.Pvh32);
        var regs = vcpu.GetRegs();
        Assert.Equal(0x200000UL, regs.Rip);
        Assert.Equal(X86Layout.PvhStartInfoAddress, regs.Rbx);
        Assert.Equal(0UL, regs.Rflags & 0x200); // interrupts off
        var sregs = vcpu.GetSregs();
        Assert.Equal(BootStructures.Code32Selector, sregs.Cs.Selector);
        Assert.Equal((0, 1), (sregs.Cs.L, sregs.Cs.Db)); // 32-bit code
        Assert.Equal(0xffffffffu, sregs.Cs.Limit);
        Assert.Equal(BootStructures.DataSelector, sregs.Ss.Selector);
        Assert.Equal(0x67u, sregs.Tr.Limit);
        Assert.Equal(1UL, sregs.Cr0 & 0x8000_0001); // PE on, PG off
        Assert.Equal(0UL, sregs.Efer & 0x500); // neither LME nor LMA
    }
}
