using System.Security.Cryptography;
using Kraud.Zfs.Send;

namespace Kraud.Zfs.Tests.Lane;

[Collection("zfs-lane"), Trait("lane", "kernel")]
public class SendReceiveTests
{
    private static string TreeHash(string dir)
    {
        using var h = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        foreach (var f in Directory.GetFiles(dir, "*", SearchOption.AllDirectories).Order(StringComparer.Ordinal))
        {
            h.AppendData(System.Text.Encoding.UTF8.GetBytes(Path.GetRelativePath(dir, f) + "\0"));
            h.AppendData(File.ReadAllBytes(f));
        }
        return Convert.ToHexString(h.GetHashAndReset());
    }

    private static void WriteRandom(string path, int bytes)
    {
        var data = new byte[bytes];
        RandomNumberGenerator.Fill(data);
        File.WriteAllBytes(path, data);
    }

    private sealed class Recorder : IProgress<TransferProgress>
    {
        public readonly List<TransferProgress> Reports = [];
        public Action<TransferProgress>? OnReport;
        public void Report(TransferProgress value) { lock (Reports) Reports.Add(value); OnReport?.Invoke(value); }
    }

    [Fact]
    public async Task FullThenIncrementalGivesIdenticalDataAndACutSendResumesFromItsToken()
    {
        await using var src = await TestZpool.CreateAsync("ka");
        await using var dst = await TestZpool.CreateAsync("kz");
        var zfs = new ZfsApi(new ZfsCli(TestZpool.Run));
        var sr = new ZfsSendReceive(zfs.Cli) { ProgressInterval = TimeSpan.Zero };
        string fs = $"{src.Name}/data";
        await TestZpool.Zfs("create", "-o", "compression=off", fs);
        WriteRandom($"/{fs}/one", 4 << 20);
        zfs.Snapshot([fs + "@s1"]);

        var progress = new Recorder();
        long moved = await sr.TransferAsync(fs + "@s1", null, $"{dst.Name}/copy", progress: progress);
        Assert.True(moved > 4 << 20);
        Assert.Contains(progress.Reports, r => r.EstimatedBytes > 4 << 20);
        Assert.Equal(moved, progress.Reports[^1].Bytes);

        WriteRandom($"/{fs}/two", 2 << 20);
        File.Delete($"/{fs}/one");
        WriteRandom($"/{fs}/three", 1 << 20);
        zfs.Snapshot([fs + "@s2"]);
        long incr = await sr.TransferAsync(fs + "@s2", fs + "@s1", $"{dst.Name}/copy");
        Assert.InRange(incr, 3 << 20, 5 << 20);
        await TestZpool.Zfs("mount", $"{dst.Name}/copy");
        Assert.Equal(TreeHash($"/{fs}"), TreeHash($"/{dst.Name}/copy"));
        Assert.Equal("s2", (await zfs.ListSnapshotsAsync($"{dst.Name}/copy"))[^1].ShortName);

        // Cut a send after ~4 MiB: the receiver keeps a resume token, and resuming completes the copy.
        string big = $"{src.Name}/big";
        await TestZpool.Zfs("create", "-o", "compression=off", big);
        WriteRandom($"/{big}/blob", 24 << 20);
        zfs.Snapshot([big + "@s1"]);
        using var cut = new CancellationTokenSource();
        var partial = new Recorder { OnReport = r => { if (r.Bytes >= 4 << 20) cut.Cancel(); } };
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => sr.TransferAsync(big + "@s1", null, $"{dst.Name}/big", progress: partial, ct: cut.Token));
        string? token = await sr.GetResumeTokenAsync($"{dst.Name}/big");
        Assert.NotNull(token);
        long rest = await sr.TransferAsync(null, null, $"{dst.Name}/big", resumeToken: token);
        Assert.True(rest < 24 << 20, $"the resumed send moved {rest} bytes; a restart from zero would move more than 24 MiB");
        Assert.Null(await sr.GetResumeTokenAsync($"{dst.Name}/big"));
        await TestZpool.Zfs("mount", $"{dst.Name}/big");
        Assert.Equal(TreeHash($"/{big}"), TreeHash($"/{dst.Name}/big"));
        await TestZpool.Zfs("unmount", $"{dst.Name}/big");
        await TestZpool.Zfs("unmount", $"{dst.Name}/copy");
    }
}
