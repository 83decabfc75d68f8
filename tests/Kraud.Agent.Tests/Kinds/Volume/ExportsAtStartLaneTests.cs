using Kraud.Zfs.Nfs;
using Kraud.Agent.Kinds.Volume;

namespace Kraud.Agent.Tests.Kinds.Volume;

/// <summary>What the daemon does at start: the exports file is rewritten from the datasets' state and applied.</summary>
[Collection("zfs-lane"), Trait("lane", "kernel")]
public class ExportsAtStartLaneTests
{
    [Fact]
    public async Task AtStartTheExportsFileKeepsOnlyMountedVolumesOfOursAndTheKernelTableFollows()
    {
        await NfsLaneTests.StartNfsServerAsync();
        await using var pool = await TestZpool.CreateAsync("ke");
        string exportsFile = $"/etc/exports.d/kraud-{pool.Name}.exports";
        // Whatever happens, no line of this test's pool may stay behind for the next test's exportfs -ra.
        using var cleanup = new DeleteOnDispose(exportsFile);
        var (_, exports, volumes, _) = VolumeParts.Create(exportsFile);
        VolumeSpec Spec() => new()
        {
            Pool = pool.Name, Class = "nfs", SizeBytes = 16 << 20,
            Nfs = new NfsSpec { Clients = [new() { Match = "127.0.0.1", Options = "rw" }] },
        };
        await volumes.ReconcileAsync("keep", 1, "h1", Spec());
        await volumes.ReconcileAsync("moved", 1, "h1", Spec());
        string keepPath = "/" + pool.Root + "/keep", movedPath = "/" + pool.Root + "/moved";
        Assert.Contains(movedPath, await exports.ActivePathsAsync());

        // While the agent was down the file went stale: a line for a volume that no longer exists anywhere, and
        // one whose path is not where its dataset is mounted.
        var had = await exports.ListAsync();
        var keep = had.Single(e => e.VolumeId == "keep");
        var moved = had.Single(e => e.VolumeId == "moved") with { Path = "/srv/elsewhere" };
        var ghost = new NfsExport("ghost", "/" + pool.Root + "/ghost", NfsExport.FsidFor("ghost"), keep.Clients);
        File.WriteAllText(exportsFile, ExportsFile.Render([keep, moved, ghost]));

        // A new process: new exports and reconciler objects read the file from disk.
        var (_, exportsAfter, volumesAfter, _) = VolumeParts.Create(exportsFile);
        var result = await volumesAfter.ReconcileExportsAtStartAsync();
        Assert.Equal(["keep"], result.Kept.Select(e => e.VolumeId));
        Assert.Equal(["ghost", "moved"], result.Removed.Select(e => e.VolumeId).Order());
        Assert.Equal(["keep"], ExportsFile.Parse(File.ReadAllText(exportsFile)).Select(e => e.VolumeId));
        var active = await exportsAfter.ActivePathsAsync();
        Assert.Contains(keepPath, active);
        Assert.DoesNotContain(movedPath, active);

        // The next reconcile of "moved" exports it again (the file is the agent's, rebuilt from desired state).
        await volumesAfter.ReconcileAsync("moved", 1, "h1", Spec());
        Assert.Contains(movedPath, await exportsAfter.ActivePathsAsync());

        // A delete is refused while exported: unexport by applying without clients, then delete.
        var noClients = new VolumeSpec { Pool = pool.Name, Class = "nfs", SizeBytes = 16 << 20 };
        foreach (string id in new[] { "keep", "moved" })
        {
            await volumesAfter.ReconcileAsync(id, 2, "h1", noClients);
            await volumesAfter.DeleteAsync(id, "h1", noClients);
        }
        Assert.Empty(ExportsFile.Parse(File.ReadAllText(exportsFile)));
    }
}

internal sealed class DeleteOnDispose(string path) : IDisposable
{
    public void Dispose() => File.Delete(path);
}
