using Kraud.Zfs;
using Kraud.Agent.Kinds.Volume;

namespace Kraud.Agent.Tests.Kinds.Volume;

[Collection("zfs-lane"), Trait("lane", "kernel")]
public class BadInputTests
{
    [Fact]
    public async Task EachBadInputFailsNamingTheProblemAndLeavesNothingBehind()
    {
        await using var pool = await TestZpool.CreateAsync("kb", 256L << 20);
        var (_, _, volumes, _) = VolumeParts.Create($"/etc/exports.d/kraud-{pool.Name}.exports");
        VolumeSpec Spec(string p, string cls, long size, Dictionary<string, string>? props = null) => new() { Pool = p, Class = cls, SizeBytes = size, Properties = props };
        async Task<string> DatasetsAsync() => await TestZpool.Zfs("list", "-H", "-o", "name", "-t", "all", "-r", pool.Name);
        string start = await DatasetsAsync();

        var missing = await Assert.ThrowsAsync<PermanentReconcileException>(() => volumes.ReconcileAsync("v1", 1, "h1", Spec("nopool", "nfs", 1 << 20)));
        Assert.Equal("spec.pool", missing.Field);
        Assert.Contains("pool 'nopool' does not exist", missing.Message);

        foreach (var bad in new[] { "v@1", "v/1" })
        {
            var e = await Assert.ThrowsAsync<PermanentReconcileException>(() => volumes.ReconcileAsync(bad, 1, "h1", Spec(pool.Name, "nfs", 1 << 20)));
            Assert.Equal("id", e.Field);
        }
        var zero = await Assert.ThrowsAsync<PermanentReconcileException>(() => volumes.ReconcileAsync("v1", 1, "h1", Spec(pool.Name, "nfs", 0)));
        Assert.Equal("spec.sizeBytes", zero.Field);

        // Full pool: a thick zvol bigger than the pool is refused by ZFS at create.
        var full = await Assert.ThrowsAsync<ZfsException>(() => volumes.ReconcileAsync("v1", 1, "h1", Spec(pool.Name, "lv2", 1L << 30)));
        Assert.Equal(ZfsProblem.NoSpace, full.Problem);
        Assert.Contains($"{pool.Name}/kraud/v1", full.Message);
        Assert.Contains("out of space", full.Message);
        Assert.False(TestZpool.Exists($"{pool.Name}/kraud/v1"));

        // A failure after the create (a property ZFS rejects) removes the dataset it just made.
        var prop = await Assert.ThrowsAsync<PermanentReconcileException>(() =>
            volumes.ReconcileAsync("v2", 1, "h1", Spec(pool.Name, "nfs", 1 << 20, new() { ["compression"] = "bogus" })));
        Assert.Equal("spec.properties", prop.Field);
        Assert.False(TestZpool.Exists($"{pool.Name}/kraud/v2"));

        // Only the empty parent the first attempt made may remain; no volume dataset, no snapshot.
        string end = await DatasetsAsync();
        Assert.Equal(start.Trim() + "\n" + pool.Name + "/kraud", end.Trim());
    }
}
