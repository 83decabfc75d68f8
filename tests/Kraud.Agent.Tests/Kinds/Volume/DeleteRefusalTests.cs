using Kraud.Zfs;
using Kraud.Zfs.Nfs;
using Kraud.Agent.Kinds.Volume;

namespace Kraud.Agent.Tests.Kinds.Volume;

/// <summary>The refusals happen before any ZFS call, so they hold on a host without ZFS too.</summary>
public class DeleteRefusalTests
{
    [Fact]
    public async Task DeleteIsRefusedWhileTheExportsFileExportsTheVolumeWhateverTheDeleteSays()
    {
        using var dir = new TempDir("kraud-del");
        // The file as an earlier reconcile (or an earlier agent process) left it: that is the real export state.
        File.WriteAllText(dir.File("kraud.exports"), ExportsFile.Render(
            [new NfsExport("v1", "/tank/kraud/v1", NfsExport.FsidFor("v1"), [new NfsClient("fd42::/64", "rw")])]));
        var exports = new NfsExports(dir.File("kraud.exports"), dir.File("no-exportfs"));
        var volumes = new VolumeReconciler(new ZfsApi(), exports);
        string before = File.ReadAllText(dir.File("kraud.exports"));

        foreach (var spec in new VolumeSpec?[] { null, new() { Pool = "tank", Class = "nfs", SizeBytes = 1 } })
        {
            var e = await Assert.ThrowsAsync<VolumeInUseException>(() => volumes.DeleteAsync("v1", "h1", spec));
            Assert.Contains("still exported to fd42::/64", e.Message);
            // Transient (contract §7 "refused while"): retried until the export is gone, not terminated.
            Assert.IsNotAssignableFrom<PermanentReconcileException>(e);
        }
        Assert.Equal(before, File.ReadAllText(dir.File("kraud.exports")));
        Assert.NotNull(await exports.GetAsync("v1"));
    }

    [Fact]
    public async Task ClientsListedOnlyInTheDeleteEnvelopeDoNotRefuseIt()
    {
        using var dir = new TempDir("kraud-del");
        var exports = new NfsExports(dir.File("kraud.exports"), dir.File("no-exportfs"));
        var volumes = new VolumeReconciler(new ZfsApi(), exports);
        var listed = new VolumeSpec { Pool = "tank", Class = "nfs", SizeBytes = 1, Nfs = new() { Clients = [new() { Match = "fd42::/64", Options = "rw" }] } };
        // Nothing is exported, so the delete goes on to ZFS (absent on this host: it fails there, not as a refusal).
        try { await volumes.DeleteAsync("v1", "h1", listed); }
        catch (Exception e) when (e is not VolumeInUseException and not Xunit.Sdk.XunitException) { }
    }

    [Fact]
    public async Task DeleteIsRefusedWhileAPodUsesTheVolumeAndABadPoolIsPermanent()
    {
        using var dir = new TempDir("kraud-del");
        var exports = new NfsExports(dir.File("kraud.exports"), dir.File("no-exportfs"));
        var volumes = new VolumeReconciler(new ZfsApi(), exports, usedByPod: id => id == "in-use");
        var pod = await Assert.ThrowsAsync<VolumeInUseException>(() => volumes.DeleteAsync("in-use", "h1", null));
        Assert.Contains("used by a pod", pod.Message);
        var badPool = await Assert.ThrowsAsync<PermanentReconcileException>(() => volumes.DeleteAsync("v1", "h1", new VolumeSpec { Pool = "ta@nk" }));
        Assert.Equal("spec.pool", badPool.Field);
        Assert.False(File.Exists(dir.File("kraud.exports")));
    }
}
