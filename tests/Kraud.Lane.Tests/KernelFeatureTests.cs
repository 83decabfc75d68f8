namespace Kraud.Lane.Tests;

/// <summary>The kernel features the agent needs and this machine's own kernel lacks, exercised inside the
/// lane (tests/lane/test-in-lane). Each creates what it checks under a unique name and removes it again.</summary>
[Trait("lane", "kernel")]
public sealed class KernelFeatureTests
{
    private static readonly TimeSpan Limit = TimeSpan.FromSeconds(120);

    private static async Task<ProcessResult> Ok(params string[] argv)
    {
        var r = await ProcessRun.RunAsync(argv, Limit);
        Assert.True(r.ExitCode == 0, $"{string.Join(' ', argv)}: {r}");
        return r;
    }

    private static string Unique(string prefix) => prefix + Guid.NewGuid().ToString("N")[..6];

    [Fact]
    public async Task Zpool_create_on_a_file_vdev_succeeds()
    {
        InsideLane.Require();
        await Ok("modprobe", "zfs");
        // /var/tmp is on the overlay, not a tmpfs of its own: zfs wants a real file for a file vdev.
        var vdev = Path.Combine("/var/tmp", Unique("lane-vdev-") + ".img");
        var pool = Unique("lanetest");
        await using (var f = File.Create(vdev)) f.SetLength(256L << 20);
        try
        {
            await Ok("zpool", "create", "-f", "-m", "none", pool, vdev);
            var list = await Ok("zpool", "list", "-H", "-o", "name,health", pool);
            Assert.Equal($"{pool}\tONLINE", list.Stdout.Trim());
            await Ok("zfs", "create", $"{pool}/ds");
            await Ok("zfs", "snapshot", $"{pool}/ds@one");
            var snaps = await Ok("zfs", "list", "-H", "-t", "snapshot", "-o", "name", "-r", pool);
            Assert.Equal($"{pool}/ds@one", snaps.Stdout.Trim());
        }
        finally
        {
            await ProcessRun.RunAsync(["zpool", "destroy", "-f", pool], Limit);
            File.Delete(vdev);
        }
    }

    [Fact]
    public async Task A_wireguard_link_can_be_added()
    {
        InsideLane.Require();
        var name = Unique("wgt");
        await Ok("ip", "link", "add", name, "type", "wireguard");
        try
        {
            var show = await Ok("ip", "-d", "link", "show", name);
            Assert.Contains("wireguard", show.Stdout);
        }
        finally { await ProcessRun.RunAsync(["ip", "link", "del", name], Limit); }
    }

    [Fact]
    public async Task An_ip6tnl_ipip6_link_can_be_added()
    {
        InsideLane.Require();
        var name = Unique("t6");
        await Ok("ip", "link", "add", name, "type", "ip6tnl", "mode", "ipip6", "local", "fd00::1", "remote", "fd00::2");
        try
        {
            var show = await Ok("ip", "-d", "link", "show", name);
            Assert.Contains("ip6tnl ipip6", show.Stdout);
        }
        finally { await ProcessRun.RunAsync(["ip", "link", "del", name], Limit); }
    }

    [Fact]
    public async Task Nfsd_can_be_mounted()
    {
        InsideLane.Require();
        await Ok("modprobe", "nfsd");
        const string mountPoint = "/proc/fs/nfsd";
        var wasMounted = File.ReadAllText("/proc/mounts").Contains($" {mountPoint} nfsd ");
        if (!wasMounted) await Ok("mount", "-t", "nfsd", "nfsd", mountPoint);
        try
        {
            Assert.Contains($" {mountPoint} nfsd ", File.ReadAllText("/proc/mounts"));
            // The nfsd control files are there: the kernel server is reachable, not just the directory.
            Assert.True(File.Exists(Path.Combine(mountPoint, "versions")), "no /proc/fs/nfsd/versions after mounting nfsd");
        }
        finally { if (!wasMounted) await ProcessRun.RunAsync(["umount", mountPoint], Limit); }
    }
}
