using Kraud.Zfs.Nfs;

namespace Kraud.Zfs.Tests.Host;

public class ExportsFileTests
{
    private static NfsExport Export(string id, params NfsClient[] clients) => new(id, "/tank/kraud/" + id, NfsExport.FsidFor(id), clients);

    [Fact]
    public void RendersEveryClientWithFsidAndParsesBack()
    {
        var a = Export("vol-b", new NfsClient("fd42:1a8::/64", "rw,no_root_squash"), new NfsClient("10.0.0.0/8", "ro"));
        var b = Export("vol-a", new NfsClient("*", "ro,subtree_check"));
        string text = ExportsFile.Render([a, b]);
        string fa = NfsExport.FsidFor("vol-a"), fb = NfsExport.FsidFor("vol-b");
        Assert.Equal(
            ExportsFile.Header + "\n" +
            "# kraud-volume vol-a\n" +
            $"/tank/kraud/vol-a *(ro,subtree_check,fsid={fa})\n" +
            "# kraud-volume vol-b\n" +
            $"/tank/kraud/vol-b fd42:1a8::/64(rw,no_root_squash,no_subtree_check,fsid={fb}) 10.0.0.0/8(ro,no_subtree_check,fsid={fb})\n",
            text);
        var back = ExportsFile.Parse(text).OrderBy(e => e.VolumeId).ToList();
        Assert.True(back[0].SameAs(b));
        Assert.True(back[1].SameAs(a));
    }

    [Fact]
    public void FsidIsStablePerVolumeAndDistinct()
    {
        Assert.Equal(NfsExport.FsidFor("vol-1"), NfsExport.FsidFor("vol-1"));
        Assert.NotEqual(NfsExport.FsidFor("vol-1"), NfsExport.FsidFor("vol-2"));
        Assert.Matches("^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$", NfsExport.FsidFor("vol-1"));
    }

    [Theory]
    [InlineData("a b", "rw")]
    [InlineData("host(rw)", "rw")]
    [InlineData("-x", "rw")]
    [InlineData("*", "rw) * (rw")]
    [InlineData("*", "fsid=0")]
    [InlineData("*", "rw\nx")]
    public void ClientProblemsAreFound(string match, string options) => Assert.NotNull(new NfsClient(match, options).Problem());

    [Fact]
    public async Task AnExportsFileTheAgentDidNotWriteIsRefusedAndLeftAlone()
    {
        using var dir = new TempDir("kraud-exports");
        string path = dir.File("kraud.exports");
        const string theirs = "/srv/share 10.0.0.0/8(rw,no_subtree_check)\n";
        File.WriteAllText(path, theirs);
        var exports = new NfsExports(path, exportfsPath: dir.File("no-exportfs"));

        var e = await Assert.ThrowsAsync<ForeignExportsFileException>(() => exports.SetAsync(Export("vol-1", new NfsClient("*", "rw"))));
        Assert.Equal($"exports file {path} exists and is not kraud's (its first line is not \"{ExportsFile.Header}\"); left untouched", e.Message);
        await Assert.ThrowsAsync<ForeignExportsFileException>(() => exports.RemoveAsync("vol-1"));
        Assert.Equal(theirs, File.ReadAllText(path));
        Assert.Equal(["kraud.exports"], Directory.GetFiles(dir.Path).Select(Path.GetFileName));
    }

    [Fact]
    public async Task WritesAtomicallyAndReportsMissingExportfs()
    {
        using var dir = new TempDir("kraud-exports");
        var exports = new NfsExports(dir.File("kraud.exports"), exportfsPath: dir.File("no-exportfs"));
        var e = await Assert.ThrowsAsync<IOException>(() => exports.SetAsync(Export("vol-1", new NfsClient("*", "rw"))));
        Assert.Contains("no-exportfs is missing", e.Message);
        // The failed apply rolled memory and file back to the empty set; no temp file is left.
        Assert.Null(await exports.GetAsync("vol-1"));
        Assert.Equal(ExportsFile.Header + "\n", File.ReadAllText(dir.File("kraud.exports")));
        Assert.Equal(["kraud.exports"], Directory.GetFiles(dir.Path).Select(Path.GetFileName));
    }

    [Fact]
    public async Task AppliesWithExportfsAndSkipsUnchangedWrites()
    {
        using var dir = new TempDir("kraud-exports");
        // A stand-in exportfs that records each call: proves -ra runs once per real change.
        string log = dir.File("calls");
        string fake = dir.Write("exportfs", $"#!/bin/sh\necho \"$@\" >> {log}\n");
        File.SetUnixFileMode(fake, UnixFileMode.UserRead | UnixFileMode.UserExecute | UnixFileMode.UserWrite);
        var exports = new NfsExports(dir.File("kraud.exports"), fake);
        var x = Export("vol-1", new NfsClient("*", "rw"));
        Assert.True(await exports.SetAsync(x));
        Assert.False(await exports.SetAsync(x));
        Assert.Contains("/tank/kraud/vol-1 *(rw,no_subtree_check,fsid=", File.ReadAllText(dir.File("kraud.exports")));
        // A fresh instance (an agent restart) reads the state back from the file.
        var restarted = new NfsExports(dir.File("kraud.exports"), fake);
        Assert.True((await restarted.GetAsync("vol-1"))!.SameAs(x));
        Assert.True(await restarted.RemoveAsync("vol-1"));
        Assert.False(await restarted.RemoveAsync("vol-1"));
        Assert.Equal(["-ra", "-ra"], File.ReadAllLines(log));
    }
}
