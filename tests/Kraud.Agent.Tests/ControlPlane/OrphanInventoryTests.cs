using Microsoft.Extensions.Time.Testing;
using System.Text.Json;
using Kraud.Agent.Kinds.Volume;
using Kraud.Agent.Kinds.Vpc;
using Kraud.Zfs;
using NATS.Client.JetStream.Models;
using Microsoft.Extensions.Logging;

namespace Kraud.Agent.Tests.ControlPlane;

/// <summary>
/// Orphans found on the host (contract section 3.3), not only in the state dir: the Vpc inventory in a real network
/// namespace, and the orphan report against a real nats-server with those links and state-dir records.
/// </summary>
public sealed class OrphanInventoryTests : NatsTestBase
{
    private const string Host = "ho1";

    [Fact]
    public async Task Vpc_inventory_in_a_namespace_finds_exactly_the_aliased_links()
    {
        using var ns = new OrphanTestNamespace();
        ns.AddBridge("vpc-a", "kraud:vpc:alpha");
        ns.InNs("link", "add", "vpc-b", "type", "veth", "peer", "name", "vpc-b-peer");
        ns.InNs("link", "set", "dev", "vpc-b", "alias", "kraud:vpc:beta");
        ns.InNs("link", "set", "dev", "vpc-b-peer", "alias", "kraud:pod:beta");
        ns.AddBridge("plain", null);
        ns.AddBridge("prefix-only", "kraud:vpc:");

        var found = await new VpcLinkInventory(Host, ns.Ns).ListAsync(default);

        Assert.Equal(["vpc/alpha", "vpc/beta"], found.Select(k => $"{k.KindToken}/{k.Id}").Order(StringComparer.Ordinal));
        Assert.All(found, k => Assert.Equal(Host, k.Host));
        // The agent's own namespace has none of them: the source looks where it is pointed.
        Assert.DoesNotContain(await new VpcLinkInventory(Host).ListAsync(default), k => k.Id is "alpha" or "beta");
    }

    [Fact]
    public async Task Orphan_report_lists_host_found_resources_without_desired_state_once_each()
    {
        await CreateDesiredStreamAsync();
        await Cp.PublishAsync(Host, "Vpc", "kept", 1);
        using var ns = new OrphanTestNamespace();
        ns.AddBridge("v-kept", "kraud:vpc:kept");
        ns.AddBridge("v-lost", "kraud:vpc:lost");
        ns.AddBridge("v-both", "kraud:vpc:both");
        var applied = new AppliedSpecs(Dir.Path);
        using (var spec = JsonDocument.Parse("{}"))
        {
            applied.Save(new ResourceKey(Host, "vpc", "both"), spec.RootElement);
            applied.Save(new ResourceKey(Host, "probe", "gone"), spec.RootElement);
        }
        var clock = new FakeTimeProvider(DateTimeOffset.UnixEpoch);
        var report = new OrphanReport(new StreamMessageReader(Cp.Connection, StreamLayout.Desired),
            [new AppliedSpecsInventory(applied, Host), new VpcLinkInventory(Host, ns.Ns)], clock, new CapturingLogger<OrphanReport>());

        Assert.Equal(["Probe/gone", "Vpc/both", "Vpc/lost"], await OrphansAsync(report));

        // Within the minute the first check serves; after it the host is looked at again.
        ns.AddBridge("v-late", "kraud:vpc:late");
        Assert.Equal(["Probe/gone", "Vpc/both", "Vpc/lost"], await OrphansAsync(report));
        clock.Advance(OrphanReport.Refresh);
        Assert.Equal(["Probe/gone", "Vpc/both", "Vpc/late", "Vpc/lost"], await OrphansAsync(report));
    }

    [Fact]
    public async Task A_source_that_fails_is_logged_once_per_check_and_the_others_still_report()
    {
        await CreateDesiredStreamAsync();
        using var ns = new OrphanTestNamespace();
        ns.AddBridge("v-lost", "kraud:vpc:lost");
        // A real zfs command that fails: the listing exits non-zero with nothing on stdout.
        var failingZfs = new VolumeDatasetInventory(new ZfsCli { ZfsPath = "/bin/false" }, () => true, Host);
        var clock = new FakeTimeProvider(DateTimeOffset.UnixEpoch);
        var log = new CapturingLogger<OrphanReport>();
        var report = new OrphanReport(new StreamMessageReader(Cp.Connection, StreamLayout.Desired), [failingZfs, new VpcLinkInventory(Host, ns.Ns)], clock, log);

        Assert.Equal(["Vpc/lost"], await OrphansAsync(report));
        Assert.Equal(["Vpc/lost"], await OrphansAsync(report));
        Assert.Single(log.Lines, l => l.Level == LogLevel.Warning && l.Message.Contains("ZFS datasets"));
        clock.Advance(OrphanReport.Refresh);
        Assert.Equal(["Vpc/lost"], await OrphansAsync(report));
        Assert.Equal(2, log.Lines.Count(l => l.Level == LogLevel.Warning && l.Message.Contains("ZFS datasets")));
    }

    [Fact]
    public async Task Without_zfs_the_dataset_source_runs_no_command()
    {
        // A zfs path that does not exist would fail the call if it ran.
        var absent = new VolumeDatasetInventory(new ZfsCli { ZfsPath = "/nonexistent/zfs" }, () => false, Host);
        Assert.Empty(await absent.ListAsync(default));
        var present = new VolumeDatasetInventory(new ZfsCli { ZfsPath = "/nonexistent/zfs" }, () => true, Host);
        await Assert.ThrowsAnyAsync<Exception>(() => present.ListAsync(default));
    }

    private Task CreateDesiredStreamAsync() => Cp.JetStream.CreateStreamAsync(new StreamConfig(StreamLayout.Desired, ["kraud.desired.>"])
    {
        MaxMsgsPerSubject = 1, Storage = StreamConfigStorage.Memory,
    }, default).AsTask();

    private static async Task<List<string>> OrphansAsync(OrphanReport report)
    {
        var builder = new HostReportBuilder();
        await report.ContributeAsync(builder, default);
        return builder.Orphans;
    }

}
