using System.Text;
using System.Text.Json.Nodes;

namespace Kraud.Vmm.Tests;

/// <summary>The blk guest reads what the test put in the backing file and writes sector 1 through virtio-blk.</summary>
public sealed class BlockTests
{
    private const string SectorZero = "data the test put in sector 0..";

    private static string MakeDisk(VmHarness vm)
    {
        var disk = Path.Combine(vm.Dir, "vol-test-7f3a");
        var bytes = new byte[1024 * 1024];
        Encoding.ASCII.GetBytes(SectorZero).CopyTo(bytes, 0);
        File.WriteAllBytes(disk, bytes);
        return disk;
    }

    [Fact]
    public async Task BlkGuest_ReadsTestData_AndItsWriteLandsInTheBackingFile()
    {
        using var vm = new VmHarness();
        var disk = MakeDisk(vm);
        var launch = vm.Launch(TestGuests.Path("blk"));
        launch["disks"] = new JsonArray(new JsonObject { ["path"] = disk, ["readOnly"] = false });
        int code = await vm.RunAsync(launch);
        Assert.True(code == VmmExitCode.PowerOff, vm.Describe(code));

        var serial = vm.Serial;
        Assert.Contains("blk: device at 0xd0000000 irq 5\n", serial);
        Assert.Contains("blk: capacity 2048 sectors\n", serial);
        Assert.Contains($"blk: sector0={SectorZero[..31]}", serial);
        Assert.Contains("blk: isr=1 after ack=0\n", serial); // used-buffer interrupt status, cleared by the ack
        Assert.Contains("blk: write status=0\n", serial);
        Assert.Contains("blk: flush status=0\n", serial);
        Assert.Contains("blk: id status=0 id=vol-test-7f3a.......\n", serial);

        var file = File.ReadAllBytes(disk);
        var sector1 = file.AsSpan(512, 512);
        Assert.Equal("written by the kraud test guest", Encoding.ASCII.GetString(sector1[..31]));
        for (int i = 64; i < 512; i++) Assert.Equal((byte)i, sector1[i]);
        Assert.Equal(SectorZero, Encoding.ASCII.GetString(file, 0, SectorZero.Length));
    }

    [Fact]
    public async Task ABlockDevice_IsSizedAndServedLikeAFile()
    {
        using var vm = new VmHarness();
        var backing = MakeDisk(vm);
        string loop = Run("/usr/sbin/losetup", "--find", "--show", backing).Trim();
        try
        {
            var launch = vm.Launch(TestGuests.Path("blk"));
            launch["disks"] = new JsonArray(new JsonObject { ["path"] = loop, ["readOnly"] = false });
            int code = await vm.RunAsync(launch);
            Assert.True(code == VmmExitCode.PowerOff, vm.Describe(code));
            Assert.Contains("blk: capacity 2048 sectors\n", vm.Serial); // from lseek: st_size of a block device is 0
            Assert.Contains($"blk: sector0={SectorZero[..31]}", vm.Serial);
            Assert.Contains("blk: flush status=0\n", vm.Serial);
        }
        finally
        {
            Run("/usr/sbin/losetup", "--detach", loop);
        }
        Assert.Equal("written by the kraud test guest", Encoding.ASCII.GetString(File.ReadAllBytes(backing), 512, 31));
    }

    private static string Run(string file, params string[] args)
    {
        var psi = new System.Diagnostics.ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in args) psi.ArgumentList.Add(a);
        using var p = System.Diagnostics.Process.Start(psi)!;
        string output = p.StandardOutput.ReadToEnd(), error = p.StandardError.ReadToEnd();
        p.WaitForExit();
        if (p.ExitCode != 0) throw new InvalidOperationException($"{file} {string.Join(' ', args)}: {error}");
        return output;
    }

    [Fact]
    public async Task ReadOnlyDisk_ServesReads_AndFailsWrites()
    {
        using var vm = new VmHarness();
        var disk = MakeDisk(vm);
        var launch = vm.Launch(TestGuests.Path("blk"));
        launch["disks"] = new JsonArray(new JsonObject { ["path"] = disk, ["readOnly"] = true });
        int code = await vm.RunAsync(launch);
        Assert.True(code == VmmExitCode.PowerOff, vm.Describe(code));
        Assert.Contains($"blk: sector0={SectorZero[..31]}", vm.Serial);
        Assert.Contains("blk: write status=1\n", vm.Serial); // VIRTIO_BLK_S_IOERR
        Assert.All(File.ReadAllBytes(disk).AsSpan(512, 512).ToArray(), b => Assert.Equal(0, b));
    }
}
