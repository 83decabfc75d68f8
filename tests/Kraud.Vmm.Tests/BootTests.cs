using Microsoft.Extensions.Logging;

namespace Kraud.Vmm.Tests;

/// <summary>Test guests booted on the real /dev/kvm through the VMM's one entry point.</summary>
public sealed class BootTests
{
    [Fact]
    public async Task HelloGuest_PrintsOverSerial_ToLogFileAndLogger_AndPowersOff()
    {
        using var vm = new VmHarness();
        int code = await vm.RunAsync(vm.Launch(TestGuests.Path("hello")));
        Assert.True(code == VmmExitCode.PowerOff, vm.Describe(code));
        Assert.Equal("hello from the kraud test guest\n", vm.Serial);
        var line = Assert.Single(vm.Logs.Lines, e => e.Message.Contains("hello from the kraud test guest"));
        Assert.Equal(LogLevel.Information, line.Level);
        Assert.Equal("test-vm", line.ScopeValue("Id"));
        Assert.Equal("vm", line.ScopeValue("Kind"));
    }

    [Fact]
    public async Task BootInfoGuest_SeesBootParams_CommandLine_AndE820AsConfigured()
    {
        using var vm = new VmHarness();
        int code = await vm.RunAsync(vm.Launch(TestGuests.Path("bootinfo"), "console=ttyS0 kraud.test=42 panic=-1", memoryMiB: 96));
        Assert.True(code == VmmExitCode.PowerOff, vm.Describe(code));
        var lines = vm.Serial.Split('\n');
        Assert.Contains("header=HdrS", lines);
        Assert.Contains("cmdline=console=ttyS0 kraud.test=42 panic=-1", lines);
        Assert.Contains($"cmdline_size={"console=ttyS0 kraud.test=42 panic=-1".Length + 1}", lines);
        Assert.Contains("e820_entries=2", lines);
        Assert.Contains("e820 0x0 0x9fc00 1", lines); // low RAM below the EBDA
        Assert.Contains($"e820 0x100000 0x{96 * 1024 * 1024 - 0x100000:x} 1", lines); // the rest, from 1 MiB
        Assert.Contains("rsi=0x7000", lines);
        Assert.Contains("bootinfo done", lines);
    }

    [Fact]
    public async Task TripleFaultingGuest_EndsWithGuestFaultCode_AndRegisterDump()
    {
        using var vm = new VmHarness();
        int code = await vm.RunAsync(vm.Launch(TestGuests.Path("triple")));
        Assert.True(code == VmmExitCode.GuestFault, vm.Describe(code));
        Assert.Contains("faulting now", vm.Serial);
        var dump = Assert.Single(vm.Logs.Lines, e => e.Level == LogLevel.Error && e.Message.Contains("triple fault"));
        Assert.Matches(@"rip=00000000002[0-9a-f]{5}", dump.Message); // inside the guest image at 2 MiB
        Assert.Contains("cr3=0000000000009000", dump.Message);
        Assert.Matches(@"code at rip \(gpa 0x2[0-9a-f]{5}\): 0f0b", dump.Message); // ud2, the faulting instruction
        Assert.Equal("test-vm", dump.ScopeValue("Id"));
    }
}

/// <summary>More than one vCPU: the application processors wait for a SIPI in KVM_RUN and are kicked out at power-off.</summary>
public sealed class SmpTests
{
    [Fact]
    public async Task TwoVcpus_BootProcessorRunsTheGuest_AndTheWaitingOneIsStoppedAtPowerOff()
    {
        using var vm = new VmHarness();
        var launch = vm.Launch(TestGuests.Path("hello"));
        launch["vcpus"] = 2;
        int code = await vm.RunAsync(launch, timeoutSeconds: 20);
        Assert.True(code == VmmExitCode.PowerOff, vm.Describe(code));
        Assert.Equal("hello from the kraud test guest\n", vm.Serial);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(3)]
    public async Task TheMpTable_ListsEveryVcpu_AndTheApplicationProcessorsStartOnAStartupIpi(int vcpus)
    {
        using var vm = new VmHarness();
        var launch = vm.Launch(TestGuests.Path("smp"));
        launch["vcpus"] = vcpus;
        int code = await vm.RunAsync(launch, timeoutSeconds: 30);
        Assert.True(code == VmmExitCode.PowerOff, vm.Describe(code));
        var lines = vm.Serial.Split('\n');
        Assert.Contains("mpf=0x9fc00 table ok lapic=0xfee00000", lines); // where Linux scans, both checksums right
        Assert.Contains($"ioapic id={vcpus} addr=0xfec00000", lines);
        Assert.Contains($"cpus={vcpus} bsp=0 isa-pins=24", lines);
        Assert.Contains($"aps started={vcpus - 1}", lines);
        Assert.Contains("smp done", lines);
    }
}
