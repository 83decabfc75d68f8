using System.Text.Json.Nodes;
using Kraud.Agent.Kvm.Vmm;
using Microsoft.Extensions.Logging;

namespace Kraud.Agent.Kvm.Tests;

/// <summary>Bad launch files are refused with exit 65 and a clear error, before the VMM opens KVM or creates anything.</summary>
public sealed class LaunchFileTests
{
    private static async Task AssertRefused(VmHarness vm, JsonObject launch, string expectedError)
    {
        int code = await vm.RunAsync(launch);
        Assert.True(code == VmmExitCode.InvalidLaunchFile, vm.Describe(code));
        var error = Assert.Single(vm.Logs.Entries, e => e.Level == LogLevel.Error);
        Assert.Contains(expectedError, error.Message);
        // The serial log is the first thing a VM creates once KVM is open: it must not exist.
        Assert.False(File.Exists(vm.SerialLog), "the refused launch created the serial log");
        Assert.DoesNotContain(vm.Logs.Entries, e => e.Message.Contains("vm ready"));
    }

    [Fact]
    public async Task MissingKernel_IsRefused()
    {
        using var vm = new VmHarness();
        await AssertRefused(vm, vm.Launch("/nonexistent/kernel"), "kernel /nonexistent/kernel does not exist");
    }

    [Fact]
    public async Task MoreMemoryThanTheHostHas_IsRefused()
    {
        using var vm = new VmHarness();
        long hostMiB = LaunchValidator.HostMemoryBytes() / (1024 * 1024);
        await AssertRefused(vm, vm.Launch(TestGuests.Path("hello"), memoryMiB: (int)hostMiB + 1024), "is more than the host has");
    }

    [Fact]
    public async Task UnknownDeviceKind_IsRefused()
    {
        using var vm = new VmHarness();
        var launch = vm.Launch(TestGuests.Path("hello"));
        launch["gpus"] = new JsonArray(new JsonObject { ["path"] = "/dev/dri/card0" });
        await AssertRefused(vm, launch, "gpus");
    }

    [Fact]
    public async Task UnknownFieldOnADisk_IsRefused()
    {
        using var vm = new VmHarness();
        var disk = Path.Combine(vm.Dir, "disk.img");
        File.WriteAllBytes(disk, new byte[4096]);
        var launch = vm.Launch(TestGuests.Path("hello"));
        launch["disks"] = new JsonArray(new JsonObject { ["path"] = disk, ["readOnly"] = false, ["cache"] = "none" });
        await AssertRefused(vm, launch, "cache");
    }

    [Theory]
    [InlineData("02:00:00:00:00", "is not a MAC address")]
    [InlineData("02:00:00:00:00:zz", "is not a MAC address")]
    [InlineData("01:00:5e:00:00:01", "is a multicast address")]
    public async Task BadMac_IsRefused(string mac, string expected)
    {
        using var vm = new VmHarness();
        var launch = vm.Launch(TestGuests.Path("hello"));
        launch["nets"] = new JsonArray(new JsonObject { ["tap"] = "kt-nope", ["mac"] = mac });
        await AssertRefused(vm, launch, expected);
    }

    [Fact]
    public async Task MissingRequiredField_IsRefused()
    {
        using var vm = new VmHarness();
        var launch = vm.Launch(TestGuests.Path("hello"));
        launch.Remove("memoryMiB");
        await AssertRefused(vm, launch, "memoryMiB");
    }

    [Fact]
    public void TheContractExample_IsAccepted_ApartFromItsMissingFiles()
    {
        var errors = new List<string>();
        var launch = new LaunchFile
        {
            Id = "pod-1", Vcpus = 1, MemoryMiB = 256, Kernel = TestGuests.Path("hello"), Cmdline = "console=ttyS0 panic=-1",
            Nets = [new LaunchNet { Tap = "kt-pod-1", Mac = "02:00:00:00:00:01" }],
        };
        LaunchValidator.Validate(launch, errors, hostMemoryBytes: 1L << 34);
        Assert.Empty(errors);
    }
}

public sealed class LaunchLimitTests
{
    [Fact]
    public void MoreVirtioDevicesThanIoapicPins_AreRefused()
    {
        var disk = TestGuests.Path("hello"); // any existing file
        var launch = new LaunchFile { Id = "x", MemoryMiB = 64, Kernel = disk };
        for (int i = 0; i < LaunchValidator.MaxVirtioDevices + 1; i++) launch.Disks.Add(new LaunchDisk { Path = disk, ReadOnly = true });
        var errors = new List<string>();
        LaunchValidator.Validate(launch, errors, 1L << 34);
        Assert.Contains(errors, e => e.Contains("at most 19"));
        launch.Disks.RemoveAt(0);
        errors.Clear();
        LaunchValidator.Validate(launch, errors, 1L << 34);
        Assert.Empty(errors);
    }
}
