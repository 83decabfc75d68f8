using System.Text.Json.Nodes;
using System.Text.RegularExpressions;

namespace Kraud.Vmm.Tests;

/// <summary>
/// The fs guest speaks FUSE through our vhost-user-fs device to the real virtiofsd: what the host wrote it reads,
/// what it writes the host finds, and the queues' notifications never exit to the VMM.
/// </summary>
public sealed partial class FsTests
{
    private const string HostText = "written by the host for the guest";

    private static string ShareDir(VmHarness vm, string name = "share")
    {
        var dir = Path.Combine(vm.Dir, name);
        Directory.CreateDirectory(dir);
        File.WriteAllText(Path.Combine(dir, "hello.txt"), HostText);
        return dir;
    }

    private static JsonObject FsLaunch(VmHarness vm, string socket, string cmdline)
    {
        var launch = vm.Launch(TestGuests.Path("fs"), "console=ttyS0 fs.tag=vol-data " + cmdline);
        launch["shares"] = new JsonArray(new JsonObject { ["tag"] = "vol-data", ["socket"] = socket });
        return launch;
    }

    [GeneratedRegex(@"vm ended: (\d+) MMIO exits, (\d+) of them queue notifications")]
    private static partial Regex ExitCounts();

    private static (long Mmio, long Notify) Exits(VmHarness vm)
    {
        var m = ExitCounts().Match(vm.Logs.Text);
        Assert.True(m.Success, vm.Logs.Text);
        return (long.Parse(m.Groups[1].Value), long.Parse(m.Groups[2].Value));
    }

    [Fact]
    public async Task Guest_ReadsWhatTheHostWrote_AndTheHostFindsWhatTheGuestWrote_WithoutNotifyExits()
    {
        using var vm = new VmHarness();
        var dir = ShareDir(vm);
        using var daemon = await Virtiofsd.StartAsync(dir, Path.Combine(vm.Dir, "fs.sock"));
        int code = await vm.RunAsync(FsLaunch(vm, daemon.SocketPath, ""));
        Assert.True(code == VmmExitCode.PowerOff, vm.Describe(code));

        Assert.Contains("fs: device vol-data queues=1\n", vm.Serial);
        Assert.Contains($"FS-READ:{HostText}\n", vm.Serial);
        Assert.Contains("fs: wrote from-guest.txt\n", vm.Serial);
        Assert.Equal("FS-WRITE-OK", File.ReadAllText(Path.Combine(dir, "from-guest.txt")));
        // A dozen FUSE requests went through the queues; the guest's register accesses did exit, its notifies did not.
        var (mmio, notify) = Exits(vm);
        Assert.True(mmio > 20, vm.Logs.Text);
        Assert.Equal(0, notify);
    }

    [Fact]
    public async Task ANotifyWithoutIoeventfd_IsCounted()
    {
        using var vm = new VmHarness();
        using var daemon = await Virtiofsd.StartAsync(ShareDir(vm), Path.Combine(vm.Dir, "fs.sock"));
        int code = await vm.RunAsync(FsLaunch(vm, daemon.SocketPath, "fs.stray-notify"));
        Assert.True(code == VmmExitCode.PowerOff, vm.Describe(code));
        Assert.Equal(1, Exits(vm).Notify); // the counter the test above reads as 0 does count
    }

    [Fact]
    public async Task TwoVms_OnOneDirectory_SeeEachOthersFiles()
    {
        using var a = new VmHarness();
        using var b = new VmHarness();
        var dir = ShareDir(a);
        using var daemonA = await Virtiofsd.StartAsync(dir, Path.Combine(a.Dir, "fs.sock"));
        using var daemonB = await Virtiofsd.StartAsync(dir, Path.Combine(b.Dir, "fs.sock"));
        var runA = a.RunAsync(FsLaunch(a, daemonA.SocketPath, "fs.write=a.txt fs.wait=b.txt"));
        var runB = b.RunAsync(FsLaunch(b, daemonB.SocketPath, "fs.write=b.txt fs.wait=a.txt"));
        int codeA = await runA, codeB = await runB;
        Assert.True(codeA == VmmExitCode.PowerOff, a.Describe(codeA));
        Assert.True(codeB == VmmExitCode.PowerOff, b.Describe(codeB));
        Assert.Contains("FS-SAW:FS-WRITE-OK\n", a.Serial);
        Assert.Contains("FS-SAW:FS-WRITE-OK\n", b.Serial);
        Assert.Contains($"FS-READ:{HostText}\n", b.Serial);
    }

    [Fact]
    public async Task AReadOnlyShare_ServesReads_AndRefusesTheGuestsWrite()
    {
        using var vm = new VmHarness();
        var dir = ShareDir(vm);
        using var daemon = await Virtiofsd.StartAsync(dir, Path.Combine(vm.Dir, "fs.sock"), readOnly: true);
        int code = await vm.RunAsync(FsLaunch(vm, daemon.SocketPath, ""));
        Assert.True(code == VmmExitCode.PowerOff, vm.Describe(code));
        Assert.Contains($"FS-READ:{HostText}\n", vm.Serial);
        Assert.Contains("fs: create failed: error -30\n", vm.Serial); // EROFS, from the daemon's side of the share
        Assert.Contains("FS-WRITE-ERROR:30\n", vm.Serial);
        Assert.False(File.Exists(Path.Combine(dir, "from-guest.txt")));
    }

    [Fact]
    public async Task AShareWhoseDaemonIsNotThere_FailsTheBuildAsUnavailable()
    {
        using var vm = new VmHarness();
        var socket = Path.Combine(vm.Dir, "nobody-listens.sock");
        int code = await vm.RunAsync(FsLaunch(vm, socket, ""));
        Assert.True(code == VmmExitCode.Unavailable, vm.Describe(code)); // 69: a supervisor tries again, unlike 65
        Assert.Contains($"connect {socket}", vm.Logs.Text);
        Assert.DoesNotContain("vm started", vm.Logs.Text);
    }

    [Fact]
    public async Task ABackEndKilled_IsReported_AndTheVmRunsOn()
    {
        using var vm = new VmHarness();
        using var daemon = await Virtiofsd.StartAsync(ShareDir(vm), Path.Combine(vm.Dir, "fs.sock"));
        var path = Path.Combine(vm.Dir, "launch.json");
        await File.WriteAllTextAsync(path, FsLaunch(vm, daemon.SocketPath, "fs.wait=never-written.txt").ToJsonString());
        using var cts = new CancellationTokenSource();
        var run = LaunchFileRunner.RunAsync(path, vm.Logs, cts.Token);
        await Deadline.WaitUntilAsync(() => vm.Serial.Contains("fs: wrote from-guest.txt"), TimeSpan.FromSeconds(20), "the guest's write");

        daemon.Kill9();
        await Deadline.WaitUntilAsync(() => vm.Logs.Text.Contains("vhost-user back end"), TimeSpan.FromSeconds(10), "the report of the dead back end");
        Assert.Contains("virtio-fs 'vol-data': vhost-user back end at " + daemon.SocketPath + " closed its socket", vm.Logs.Text);
        await Deadline.WaitUntilAsync(() => vm.Serial.Contains("[kraud-vmm] virtio-fs 'vol-data'"), TimeSpan.FromSeconds(5), "the report in the serial log");
        Assert.False(run.IsCompleted, vm.Describe(-1)); // the guest waits for an answer that will not come; the VM lives

        cts.Cancel();
        int code = await run.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.True(code == VmmExitCode.Stopped, vm.Describe(code));
    }
}
