using Kraud.Agent.Zfs.Nfs;
using Kraud.Agent.Zfs.Reconcile;
using Kraud.Testing;

namespace Kraud.Agent.Zfs.Tests.Host;

/// <summary>The refusals happen before any ZFS call, so they hold on a host without ZFS too.</summary>
public class DeleteRefusalTests
{
    [Fact]
    public async Task DeleteIsRefusedWhileClientsAreListedOrAPodUsesTheVolume()
    {
        using var dir = new TempDir("kraud-del");
        var exports = new NfsExports(dir.File("kraud.exports"), dir.File("no-exportfs"));
        var volumes = new VolumeReconciler(new ZfsApi(), exports, usedByPod: id => id == "in-use");
        var listed = new VolumeSpec { Pool = "tank", Class = "nfs", SizeBytes = 1, Nfs = new() { Clients = [new() { Match = "fd42::/64", Options = "rw" }] } };
        var e = await Assert.ThrowsAsync<VolumeInUseException>(() => volumes.DeleteAsync("v1", "h1", listed));
        Assert.Contains("still exported to fd42::/64", e.Message);
        Assert.IsAssignableFrom<PermanentReconcileException>(e);
        var pod = await Assert.ThrowsAsync<VolumeInUseException>(() => volumes.DeleteAsync("in-use", "h1", null));
        Assert.Contains("used by a pod", pod.Message);
        var badPool = await Assert.ThrowsAsync<PermanentReconcileException>(() => volumes.DeleteAsync("v1", "h1", new VolumeSpec { Pool = "ta@nk" }));
        Assert.Equal("spec.pool", badPool.Field);
        Assert.False(File.Exists(dir.File("kraud.exports")));
    }
}
