using Kraud.Agent.Kinds.Volume;
using Kraud.Agent.Tests.ControlPlane;
using Kraud.Zfs;
using Kraud.Commands;
using NATS.Client.JetStream.Models;

namespace Kraud.Agent.Tests.Kinds.Volume;

/// <summary>
/// In the kernel lane (real zfs module): datasets under &lt;pool&gt;/kraud tagged with this host and no desired state are
/// orphans, one tagged with another host or with a desired state is not (contract section 3.3), with an empty state
/// dir, directly and through the agent process. Run with tests/lane/test-in-lane tests/Kraud.Agent.Tests.
/// </summary>
[Trait("lane", "kernel")]
public sealed class OrphanDatasetLaneTests : NatsTestBase
{
    private const string Host = "hz1";
    private static readonly ArgvRunner Run = TestZpool.Run;

    [Fact]
    public async Task A_dataset_of_this_host_without_desired_state_is_an_orphan_and_another_hosts_is_not()
    {
        await using var zpool = await TestZpool.CreateAsync("ko", 256L << 20, mountpoint: "none");
        string pool = zpool.Name;
        await Run.RunCheckedAsync(["/usr/sbin/zfs", "create", $"{pool}/kraud"]);
        await Run.RunCheckedAsync(["/usr/sbin/zfs", "create", "-o", $"kraud:host={Host}", "-o", "kraud:id=mine", $"{pool}/kraud/mine"]);
        await Run.RunCheckedAsync(["/usr/sbin/zfs", "create", "-o", $"kraud:host={Host}", "-o", "kraud:id=kept", $"{pool}/kraud/kept"]);
        await Run.RunCheckedAsync(["/usr/sbin/zfs", "create", "-o", "kraud:host=other", "-o", "kraud:id=theirs", $"{pool}/kraud/theirs"]);
        await Run.RunCheckedAsync(["/usr/sbin/zfs", "create", "-V", "8M", "-o", $"kraud:host={Host}", $"{pool}/kraud/zvol"]);
        await Run.RunCheckedAsync(["/usr/sbin/zfs", "create", "-o", $"kraud:host={Host}", $"{pool}/elsewhere"]);
        await Cp.JetStream.CreateStreamAsync(new StreamConfig(StreamLayout.Desired, ["kraud.desired.>"])
        {
            MaxMsgsPerSubject = 1, Storage = StreamConfigStorage.Memory,
        });
        await Cp.PublishAsync(Host, "Volume", "kept", 1);

        var source = new VolumeDatasetInventory(new ZfsCli(), () => true, Host);
        var report = new OrphanReport(new StreamMessageReader(Cp.Connection, StreamLayout.Desired), [new AppliedSpecsInventory(new AppliedSpecs(Dir.Path), Host), source],
            TimeProvider.System, new CapturingLogger<OrphanReport>());
        var builder = new HostReportBuilder();
        await report.ContributeAsync(builder, default);

        Assert.Equal(["Volume/mine", "Volume/zvol"], builder.Orphans.Where(o => o is "Volume/mine" or "Volume/zvol" or "Volume/kept" or "Volume/theirs" or "Volume/elsewhere"));
        Assert.Contains(await source.ListAsync(default), k => k.Id == "kept");

        // The daemon wires the same source: started with an empty state dir, it puts them in its host record.
        using var agent = new AgentUnderTest(Dir, "orphans", Host, Nats.Url);
        HostRecord? record = null;
        await Deadline.WaitUntilAsync(async () =>
        {
            try { record = await Cp.GetHostAsync(Host); }
            catch (NATS.Client.Core.NatsException) { record = null; }
            return record is { Orphans.Count: > 0 };
        }, TimeSpan.FromSeconds(120), "orphans in the host record");
        Assert.Equal(["Volume/mine", "Volume/zvol"], record!.Orphans.Where(o => o.StartsWith("Volume/", StringComparison.Ordinal)));
    }
}
