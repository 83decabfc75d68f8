using Kraud.Agent.Kinds.Volume;

namespace Kraud.Agent.Tests.Kinds.Volume;

[Collection("zfs-lane"), Trait("lane", "kernel")]
public class NfsLaneTests
{
    /// <summary>nfsd as the lane has it (no systemd): the nfsd filesystem, rpcbind, rpc.nfsd, rpc.mountd.</summary>
    internal static async Task StartNfsServerAsync()
    {
        await TestZpool.Sh("/sbin/modprobe", "nfsd");
        Directory.CreateDirectory("/run/rpcbind");
        Directory.CreateDirectory("/var/lib/nfs");
        Directory.CreateDirectory("/etc/exports.d");
        if (!File.Exists("/proc/fs/nfsd/threads")) await TestZpool.Sh("/bin/mount", "-t", "nfsd", "nfsd", "/proc/fs/nfsd");
        if (File.ReadAllText("/proc/fs/nfsd/threads").Trim() is "0" or "")
        {
            await TestZpool.Run.RunAsync(["/usr/sbin/rpcbind", "-w"]);
            await TestZpool.Sh("/usr/sbin/rpc.nfsd", "4");
            await TestZpool.Sh("/usr/sbin/rpc.mountd");
        }
    }

    [Fact]
    public async Task AnExportedVolumeMountsOverNfsAndIsUnexportedOnDeleteButNotWhileListed()
    {
        await StartNfsServerAsync();
        await using var pool = await TestZpool.CreateAsync("kf");
        string exportsFile = $"/etc/exports.d/kraud-{pool.Name}.exports";
        var (_, exports, volumes, _) = VolumeParts.Create(exportsFile);
        var spec = new VolumeSpec
        {
            Pool = pool.Name, Class = "nfs", SizeBytes = 32 << 20,
            Nfs = new NfsSpec { Clients = [new() { Match = "127.0.0.1", Options = "rw,no_root_squash" }] },
        };
        var o = await volumes.ReconcileAsync("share", 1, "h1", spec);
        string ds = $"{pool.Name}/kraud/share", path = "/" + ds;
        Assert.Equal("exported", (string?)o["export"]!["state"]);
        Assert.Equal(path, (string?)o["export"]!["path"]);
        Assert.Contains(path, await exports.ActivePathsAsync());
        Assert.Contains($"fsid={(string?)o["export"]!["fsid"]}", File.ReadAllText(exportsFile));

        // Idempotent: the exports file is not rewritten and no dataset property moves.
        var stamp = File.GetLastWriteTimeUtc(exportsFile);
        string before = await TestZpool.GetAll(ds);
        await volumes.ReconcileAsync("share", 1, "h1", spec);
        Assert.Equal(stamp, File.GetLastWriteTimeUtc(exportsFile));
        Assert.Equal(before, await TestZpool.GetAll(ds));

        File.WriteAllText(path + "/hello", "over nfs");
        string mnt = $"/mnt/kraud-{pool.Name}";
        Directory.CreateDirectory(mnt);
        await TestZpool.Sh("/bin/mount", "-t", "nfs", "-o", "vers=3,soft,timeo=50,retrans=2", $"127.0.0.1:{path}", mnt);
        try
        {
            Assert.Equal("over nfs", File.ReadAllText(mnt + "/hello"));
            File.WriteAllText(mnt + "/from-client", "written by the client");
        }
        finally { await TestZpool.Sh("/bin/umount", mnt); }
        Assert.Equal("written by the client", File.ReadAllText(path + "/from-client"));

        // Delete while exported: refused (transient, retried) whether the delete lists the clients or has no nfs
        // section at all, since the agent's own exports file is what counts; dataset and export stay.
        var bare = new VolumeSpec { Pool = pool.Name, Class = "nfs", SizeBytes = 32 << 20 };
        foreach (var asked in new VolumeSpec?[] { spec, bare, null })
        {
            var refused = await Assert.ThrowsAsync<VolumeInUseException>(() => volumes.DeleteAsync("share", "h1", asked));
            Assert.Contains("still exported to 127.0.0.1", refused.Message);
            Assert.IsNotAssignableFrom<PermanentReconcileException>(refused);
            Assert.True(TestZpool.Exists(ds));
            Assert.Contains(path, await exports.ActivePathsAsync());
        }

        // Applied without clients: unexported; then the delete (no nfs section) destroys it.
        var unexported = await volumes.ReconcileAsync("share", 2, "h1", bare);
        Assert.Equal("none", (string?)unexported["export"]!["state"]);
        Assert.DoesNotContain(path, await exports.ActivePathsAsync());
        await volumes.DeleteAsync("share", "h1", bare);
        Assert.False(TestZpool.Exists(ds));
        Assert.DoesNotContain(path, await exports.ActivePathsAsync());
        Assert.DoesNotContain(path, File.ReadAllText(exportsFile));
        File.Delete(exportsFile);
    }
}
