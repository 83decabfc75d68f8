using Kraud.Agent.Tests.ControlPlane;
using Kraud.Commands;

namespace Kraud.Agent.Tests.Host;

/// <summary>
/// In the kernel lane (real zfs module): the agent process reports an imported pool in its host record with the
/// name, size and free bytes `zpool list -Hp` gives. Run with tests/lane/test-in-lane tests/Kraud.Agent.Tests.
/// </summary>
[Trait("lane", "kernel")]
public sealed class PoolReportLaneTests : NatsTestBase
{
    private static readonly ArgvRunner Run = TestZpool.Run;

    [Fact]
    public async Task The_host_record_lists_an_imported_pool_with_its_size_and_free_bytes()
    {
        await using var zpool = await TestZpool.CreateAsync("kh", 256L << 20, mountpoint: "none");
        string pool = zpool.Name;
        using var agent = new AgentUnderTest(Dir, "pools", "hp1", Nats.Url);
        Kraud.Agent.ControlPlane.HostRecord? record = null;
        await Deadline.WaitUntilAsync(async () =>
        {
            try { record = await Cp.GetHostAsync("hp1"); }
            catch (NATS.Client.Core.NatsException) { record = null; }
            return record is not null && record.Resources.Pools.Any(p => p.Name == pool);
        }, TimeSpan.FromSeconds(120), $"pool {pool} in the host record");

        var listed = (await Run.RunCheckedAsync(["/usr/sbin/zpool", "list", "-H", "-p", "-o", "name,size,free", pool])).Stdout.Trim().Split('\t');
        long size = long.Parse(listed[1]), free = long.Parse(listed[2]);
        var reported = record!.Resources.Pools.Single(p => p.Name == pool);
        Assert.True(record.Capabilities.Zfs);
        Assert.Equal(size, reported.SizeBytes);
        Assert.InRange(reported.SizeBytes, 200L << 20, 256L << 20);
        // Free moves a little as the pool syncs its metadata; a few MiB either way is the same pool.
        Assert.InRange(reported.FreeBytes, free - (8L << 20), free + (8L << 20));
        Assert.InRange(reported.FreeBytes, 1, reported.SizeBytes);
    }
}
