namespace Kraud.Zfs.Tests.Lane;

[Collection("zfs-lane"), Trait("lane", "kernel")]
public class SnapshotApiTests
{
    [Fact]
    public async Task BatchesAreAtomicAndHoldsBookmarksClonesWork()
    {
        await using var pool = await TestZpool.CreateAsync("ks");
        var zfs = new ZfsApi(new ZfsCli(TestZpool.Run));
        var names = Enumerable.Range(0, 3).Select(i => $"{pool.Name}/d{i}").ToList();
        foreach (var n in names) zfs.CreateFilesystem(n, null, new Dictionary<string, string> { ["kraud:id"] = n });
        Assert.All(names, n => Assert.True(zfs.Exists(n)));

        zfs.Snapshot(names.Select(n => n + "@s1").ToList(), new Dictionary<string, string> { ["kraud:auto"] = "1h" });
        var listed = await zfs.ListSnapshotsAsync(pool.Name, recursive: true);
        Assert.Equal(names.Select(n => n + "@s1"), listed.Select(s => s.Name));
        Assert.All(listed, s => Assert.Equal("1h", s.AutoTag));
        // One atomic transaction group for the whole batch.
        Assert.Single(listed.Select(s => s.CreateTxg).Distinct());

        // A batch with one bad member makes nothing, and the error names the bad one.
        var e = Assert.Throws<ZfsException>(() => zfs.Snapshot([names[0] + "@s2", $"{pool.Name}/missing@s2"]));
        Assert.Contains($"{pool.Name}/missing@s2", e.Message);
        Assert.Equal(ZfsProblem.NotFound, e.Problem);
        Assert.False(zfs.Exists(names[0] + "@s2"));
        var dup = Assert.Throws<ZfsException>(() => zfs.Snapshot([names[0] + "@s1"]));
        Assert.Equal(ZfsProblem.Exists, dup.Problem);

        // A hold blocks destroy; release frees it.
        zfs.Hold([names[0] + "@s1"], "kraud-send");
        Assert.Equal(["kraud-send"], zfs.GetHolds(names[0] + "@s1"));
        var busy = Assert.Throws<ZfsException>(() => zfs.DestroySnapshots([names[0] + "@s1"]));
        Assert.Equal(ZfsProblem.Busy, busy.Problem);
        Assert.True(zfs.Exists(names[0] + "@s1"));
        zfs.Release([names[0] + "@s1"], "kraud-send");
        Assert.Empty(zfs.GetHolds(names[0] + "@s1"));

        zfs.Bookmark(names[0] + "#b1", names[0] + "@s1");
        Assert.Contains(names[0] + "#b1", await TestZpool.Zfs("list", "-H", "-o", "name", "-t", "bookmark", "-r", pool.Name));

        zfs.Clone($"{pool.Name}/c1", names[1] + "@s1");
        Assert.Contains("origin\t" + names[1] + "@s1", await TestZpool.Zfs("get", "-H", "-o", "property,value", "origin", $"{pool.Name}/c1"));

        zfs.DestroySnapshots([names[0] + "@s1", names[2] + "@s1"]);
        Assert.False(zfs.Exists(names[0] + "@s1"));
        await zfs.DestroyWithSnapshotsAsync(names[2]);
        Assert.False(zfs.Exists(names[2]));
    }
}
