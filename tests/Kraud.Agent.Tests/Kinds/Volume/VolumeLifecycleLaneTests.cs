using Kraud.Agent.Kinds.Volume;

namespace Kraud.Agent.Tests.Kinds.Volume;

[Collection("zfs-lane"), Trait("lane", "kernel")]
public class VolumeLifecycleTests
{
    private static VolumeSpec Spec(string pool, string cls, long size, Dictionary<string, string>? props = null) =>
        new() { Pool = pool, Class = cls, SizeBytes = size, Properties = props };

    [Fact]
    public async Task NfsVolumeIsCreatedResizedAndDestroyedAndASecondReconcileChangesNothing()
    {
        await using var pool = await TestZpool.CreateAsync("kn");
        var (_, _, volumes, _) = VolumeParts.Create($"/etc/exports.d/kraud-{pool.Name}.exports");
        var spec = Spec(pool.Name, "nfs", 64L << 20, new() { ["compression"] = "zstd", ["atime"] = "off" });

        var observed = await volumes.ReconcileAsync("vol-1", 3, "h1", spec);
        string ds = $"{pool.Name}/kraud/vol-1";
        Assert.Equal(ds, (string?)observed["dataset"]);
        Assert.Equal(64L << 20, (long?)observed["sizeBytes"]);
        Assert.True((bool?)observed["mounted"]);
        Assert.Equal("/" + ds, (string?)observed["mountpoint"]);
        Assert.True((long?)observed["availableBytes"] <= 64L << 20);
        Assert.Equal("none", (string?)observed["export"]!["state"]);
        Assert.True(Directory.Exists("/" + ds));

        string props = await TestZpool.Zfs("get", "-Hp", "-o", "property,value,source", "compression,atime,refquota,kraud:host,kraud:id,kraud:generation", ds);
        Assert.Contains("compression\tzstd\tlocal", props);
        Assert.Contains("atime\toff\tlocal", props);
        Assert.Contains($"refquota\t{64L << 20}\tlocal", props);
        Assert.Contains("kraud:host\th1\tlocal", props);
        Assert.Contains("kraud:id\tvol-1\tlocal", props);
        Assert.Contains("kraud:generation\t3\tlocal", props);

        string before = await TestZpool.GetAll(ds);
        await volumes.ReconcileAsync("vol-1", 3, "h1", spec);
        Assert.Equal(before, await TestZpool.GetAll(ds));

        var bigger = await volumes.ReconcileAsync("vol-1", 4, "h1", Spec(pool.Name, "nfs", 128L << 20, new() { ["compression"] = "zstd", ["atime"] = "off" }));
        Assert.Equal(128L << 20, (long?)bigger["sizeBytes"]);
        Assert.Equal(4, (long?)bigger["generation"]);

        await volumes.DeleteAsync("vol-1", "h1", null);
        Assert.False(TestZpool.Exists(ds));
        Assert.False(Directory.Exists("/" + ds) && Directory.EnumerateFileSystemEntries("/" + ds).Any());
        // Deleting what is gone succeeds.
        await volumes.DeleteAsync("vol-1", "h1", null);
    }

    [Fact]
    public async Task Lv2VolumeIsCreatedGrownNeverShrunkAndDestroyed()
    {
        await using var pool = await TestZpool.CreateAsync("kv");
        var (_, _, volumes, _) = VolumeParts.Create($"/etc/exports.d/kraud-{pool.Name}.exports");
        var spec = Spec(pool.Name, "lv2", 32L << 20, new() { ["compression"] = "lz4" });
        var observed = await volumes.ReconcileAsync("blk-1", 1, "h1", spec);
        string ds = $"{pool.Name}/kraud/blk-1";
        Assert.Equal("/dev/zvol/" + ds, (string?)observed["devicePath"]);
        Assert.Equal(32L << 20, (long?)observed["sizeBytes"]);
        string props = await TestZpool.Zfs("get", "-Hp", "-o", "property,value,source", "type,volsize,refreservation,compression,kraud:id", ds);
        Assert.Contains("type\tvolume\t-", props);
        Assert.Contains($"volsize\t{32L << 20}\tlocal", props);
        Assert.Contains($"refreservation\t{32L << 20}\tlocal", props);
        Assert.Contains("compression\tlz4\tlocal", props);

        string before = await TestZpool.GetAll(ds);
        await volumes.ReconcileAsync("blk-1", 1, "h1", spec);
        Assert.Equal(before, await TestZpool.GetAll(ds));

        var grown = await volumes.ReconcileAsync("blk-1", 2, "h1", Spec(pool.Name, "lv2", 64L << 20));
        Assert.Equal(64L << 20, (long?)grown["sizeBytes"]);
        var e = await Assert.ThrowsAsync<PermanentReconcileException>(() => volumes.ReconcileAsync("blk-1", 3, "h1", Spec(pool.Name, "lv2", 16L << 20)));
        Assert.Equal("spec.sizeBytes", e.Field);
        Assert.Contains("shrinking", e.Message);

        // Class changes are refused rather than destroying data.
        var c = await Assert.ThrowsAsync<PermanentReconcileException>(() => volumes.ReconcileAsync("blk-1", 3, "h1", Spec(pool.Name, "nfs", 64L << 20)));
        Assert.Equal("spec.class", c.Field);

        await volumes.DeleteAsync("blk-1", "h1", null);
        Assert.False(TestZpool.Exists(ds));
    }
}
