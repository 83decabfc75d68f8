using System.Text;

namespace Kraud.Vmm.Tests;

/// <summary>The bzImage path (setup header, 64-bit entry at +0x200) and initrd placement, booted for real.</summary>
public sealed class KernelFormatTests
{
    private const string InitrdText = "kraud initrd contents: 0123456789";

    [Fact]
    public async Task BzImageGuest_IsEnteredAt64BitEntry_WithItsSetupHeader_CmdlineAndInitrd()
    {
        using var vm = new VmHarness();
        var kernel = Path.Combine(vm.Dir, "bzImage");
        File.WriteAllBytes(kernel, BzImageBuilder.Build(File.ReadAllBytes(TestGuests.Path("bootinfo-bz", ".bin"))));
        var initrd = Path.Combine(vm.Dir, "initrd");
        var initrdBytes = new byte[10000];
        Encoding.ASCII.GetBytes(InitrdText).CopyTo(initrdBytes, 0);
        File.WriteAllBytes(initrd, initrdBytes);

        var launch = vm.Launch(kernel, "console=ttyS0 via=bzimage", memoryMiB: 64);
        launch["initrd"] = initrd;
        int code = await vm.RunAsync(launch);
        Assert.True(code == VmmExitCode.PowerOff, vm.Describe(code));
        var lines = vm.Serial.Split('\n');
        Assert.Contains("header=HdrS", lines);
        Assert.Contains("cmdline=console=ttyS0 via=bzimage", lines);
        ulong expected = ((64UL << 20) - 10000) & ~0xfffUL; // highest page-aligned spot below the top of RAM
        Assert.Contains($"initrd=0x{expected:x} 10000 {InitrdText[..24]}", lines);
        Assert.Contains(vm.Logs.Lines, e => e.Message.Contains("bzImage kernel entry 0x1000200"));
    }

    [Fact]
    public async Task ElfGuest_GetsAnInitrdToo()
    {
        using var vm = new VmHarness();
        var initrd = Path.Combine(vm.Dir, "initrd");
        File.WriteAllText(initrd, InitrdText);
        var launch = vm.Launch(TestGuests.Path("bootinfo"), memoryMiB: 32);
        launch["initrd"] = initrd;
        int code = await vm.RunAsync(launch);
        Assert.True(code == VmmExitCode.PowerOff, vm.Describe(code));
        ulong expected = ((32UL << 20) - (ulong)InitrdText.Length) & ~0xfffUL;
        Assert.Contains($"initrd=0x{expected:x} {InitrdText.Length} {InitrdText[..24]}", vm.Serial.Split('\n'));
    }

    [Fact]
    public async Task NotAKernel_IsRefusedAsAnInvalidLaunchFile()
    {
        using var vm = new VmHarness();
        var kernel = Path.Combine(vm.Dir, "kernel");
        File.WriteAllText(kernel, "this is not a kernel at all, just text long enough to read");
        int code = await vm.RunAsync(vm.Launch(kernel));
        Assert.True(code == VmmExitCode.InvalidLaunchFile, vm.Describe(code));
        Assert.Contains(vm.Logs.Lines, e => e.Message.Contains("neither an ELF nor a bzImage"));
    }
}
