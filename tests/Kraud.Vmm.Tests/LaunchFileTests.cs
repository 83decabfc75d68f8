using System.Text.Json.Nodes;
using Kraud.Vmm.Launch;
using Microsoft.Extensions.Logging;

namespace Kraud.Vmm.Tests;

/// <summary>Bad launch files are refused with exit 65 and a clear error, before the VMM opens KVM or creates anything.</summary>
public sealed class LaunchFileTests
{
    internal static async Task AssertRefused(VmHarness vm, JsonObject launch, string expectedError)
    {
        int code = await vm.RunAsync(launch);
        Assert.True(code == VmmExitCode.InvalidLaunchFile, vm.Describe(code));
        var error = Assert.Single(vm.Logs.Lines, e => e.Level == LogLevel.Error);
        Assert.Contains(expectedError, error.Message);
        // The serial log is the first thing a VM creates once KVM is open: it must not exist.
        Assert.False(File.Exists(vm.SerialLog), "the refused launch created the serial log");
        Assert.DoesNotContain(vm.Logs.Lines, e => e.Message.Contains("vm started"));
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

public sealed class LaunchFileReaderTests
{
    private const string Valid = """{ "id": "pod-1", "vcpus": 2, "memoryMiB": 256, "kernel": "/k", "initrd": null, "cmdline": "console=ttyS0", "serialLog": "/run/s.log", "disks": [ { "path": "/dev/zvol/t/v", "readOnly": true } ], "nets": [ { "tap": "kt-1", "mac": "02:00:00:00:00:01" } ] }""";

    [Fact]
    public void TheContractShape_IsReadIntoEveryField()
    {
        var errors = new List<string>();
        var launch = LaunchFileReader.Parse("\uFEFF"u8.ToArray().Concat(System.Text.Encoding.UTF8.GetBytes(Valid)).ToArray(), errors);
        Assert.Empty(errors);
        Assert.NotNull(launch);
        Assert.Equal(("pod-1", 2, 256L, "/k", (string?)null, "console=ttyS0", "/run/s.log"),
            (launch.Id, launch.Vcpus, launch.MemoryMiB, launch.Kernel, launch.Initrd, launch.Cmdline, launch.SerialLog));
        var disk = Assert.Single(launch.Disks);
        Assert.Equal(("/dev/zvol/t/v", true), (disk.Path, disk.ReadOnly));
        var net = Assert.Single(launch.Nets);
        Assert.Equal(("kt-1", "02:00:00:00:00:01"), (net.Tap, net.Mac));
    }

    [Theory]
    [InlineData("""{ "id": "a", "memoryMiB": "128", "kernel": "/k" }""", "'memoryMiB' must be a whole number")]
    [InlineData("""{ "id": "a", "memoryMiB": -1, "kernel": "/k" }""", "'memoryMiB' must be a whole number")]
    [InlineData("""{ "id": "a", "memoryMiB": 1.5, "kernel": "/k" }""", "'memoryMiB' must be a whole number")]
    [InlineData("""{ "id": 7, "memoryMiB": 128, "kernel": "/k" }""", "'id' must be a string")]
    [InlineData("""{ "id": "a", "id": "b", "memoryMiB": 128, "kernel": "/k" }""", "'id' appears twice")]
    [InlineData("""{ "memoryMiB": 128, "kernel": "/k" }""", "'id' is required")]
    [InlineData("""{ "id": "a", "memoryMiB": 128, "kernel": "/k", "disks": {} }""", "'disks' must be an array")]
    [InlineData("""{ "id": "a", "memoryMiB": 128, "kernel": "/k", "disks": [ 3 ] }""", "'disks[0]' must be an object")]
    [InlineData("""{ "id": "a", "memoryMiB": 128, "kernel": "/k", "disks": [ { "readOnly": "yes" } ] }""", "'disks[0].readOnly' must be true or false")]
    [InlineData("""{ "id": "a", "memoryMiB": 128, "kernel": "/k", "nets": [ { "tap": "t" } ] }""", "'nets[0].mac' is required")]
    [InlineData("""{ "id": "a", "memoryMiB": 128, "kernel": "/k", "vcpu": 2 }""", "unknown key 'vcpu'")]
    [InlineData("""[ 1, 2 ]""", "must be a JSON object")]
    [InlineData("""{ "id": "a", """, "not valid JSON")]
    [InlineData("""{ "id": "a", "memoryMiB": 128, "kernel": "/k" } {}""", "not valid JSON")]
    [InlineData("""{ "id": "a", /* note */ "memoryMiB": 128, "kernel": "/k" }""", "not valid JSON")]
    public void BadInput_NamesTheKeyAndTheProblem(string json, string expected)
    {
        var errors = new List<string>();
        Assert.Null(LaunchFileReader.Parse(System.Text.Encoding.UTF8.GetBytes(json), errors));
        Assert.Contains(errors, e => e.Contains(expected));
    }

    [Theory]
    [InlineData("", "/nonexistent/fs.sock", "shares[0].tag '' must be 1..36 bytes")]
    [InlineData("a-tag-that-is-longer-than-thirty-six-bytes", "/nonexistent/fs.sock", "must be 1..36 bytes")]
    [InlineData("vol-data", "fs.sock", "shares[0].socket 'fs.sock' is not an absolute unix socket path")]
    public async Task BadShare_IsRefused(string tag, string socket, string expected)
    {
        using var vm = new VmHarness();
        var launch = vm.Launch(TestGuests.Path("hello"));
        launch["shares"] = new JsonArray(new JsonObject { ["tag"] = tag, ["socket"] = socket });
        await LaunchFileTests.AssertRefused(vm, launch, expected);
    }

    [Fact]
    public async Task AShareWithoutSocket_IsRefused()
    {
        using var vm = new VmHarness();
        var launch = vm.Launch(TestGuests.Path("hello"));
        launch["shares"] = new JsonArray(new JsonObject { ["tag"] = "vol-data" });
        await LaunchFileTests.AssertRefused(vm, launch, "'shares[0].socket' is required");
    }

    [Fact]
    public async Task TwoSharesWithOneTag_AreRefused()
    {
        using var vm = new VmHarness();
        var socket = Path.Combine(vm.Dir, "exists.sock");
        File.WriteAllText(socket, "");
        var launch = vm.Launch(TestGuests.Path("hello"));
        launch["shares"] = new JsonArray(new JsonObject { ["tag"] = "vol-data", ["socket"] = socket }, new JsonObject { ["tag"] = "vol-data", ["socket"] = socket });
        await LaunchFileTests.AssertRefused(vm, launch, "shares[1].tag vol-data is used twice");
    }
}
