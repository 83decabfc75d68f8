using Kraud.Agent.Kinds.Vpc;
using Kraud.Net.WireGuard;

namespace Kraud.Agent.Tests.ControlPlane;

/// <summary>
/// wireguard.publicKey in the host record (contract section 5) survives an agent restart and goes with the Vpc:
/// the agent derives it at start from the Vpc it applied (state dir) and its kept private key, and clears it
/// when the Vpc is deleted. The delete runs against the real host: the interface is absent, so nothing changes.
/// </summary>
public sealed class HostRecordWireguardTests : NatsTestBase
{
    [Fact]
    public async Task The_first_host_record_after_a_restart_carries_the_applied_vpcs_key_and_a_deleted_vpc_clears_it()
    {
        const string host = "hw1", iface = "kvpct0";
        string stateDir = Path.Combine(Dir.Path, "wg");
        var kept = WriteVpcKey(stateDir, iface);
        WriteAppliedVpc(stateDir, "v1", iface);
        // A key left by a Vpc deleted long ago (no applied spec) is no identity to report.
        WriteVpcKey(stateDir, "kvpcold");

        using var a = new AgentUnderTest(Dir, "wg", host, Nats.Url);
        var first = await WaitForHostAsync(host);
        Assert.Equal([new Kraud.Agent.Kinds.VpcWireguard("v1", iface, kept.PublicKey().ToString(), 51830)], first.Wireguard);

        await Cp.PublishAsync(host, "Vpc", "v1", 2, $$"""{"interface":"{{iface}}"}""", deleted: true);
        await Cp.WaitForStatusAsync(host, "vpc", "v1", s => s.Phase == "Deleted", TimeSpan.FromSeconds(30));
        await Deadline.WaitUntilAsync(async () => (await Cp.GetHostAsync(host))!.Wireguard.Count == 0,
            TimeSpan.FromSeconds(30), "the deleted Vpc's key to leave the host record");
        Assert.True(File.Exists(VpcKeyStore.KeyPath(stateDir, iface)), "the key file stays: it is the host's VPC identity");

        // Started again, the agent does not bring the deleted Vpc's key back.
        var before = (await Cp.GetHostAsync(host))!.StartedAt;
        await a.RestartAsync();
        await Deadline.WaitUntilAsync(async () => (await Cp.GetHostAsync(host))!.StartedAt > before, TimeSpan.FromSeconds(30), "the restarted agent's record");
        Assert.Empty((await Cp.GetHostAsync(host))!.Wireguard);
    }

    [Fact]
    public async Task Without_a_vpc_the_host_record_has_no_key()
    {
        using var a = new AgentUnderTest(Dir, "nowg", "hw2", Nats.Url);
        Assert.Empty((await WaitForHostAsync("hw2")).Wireguard);
    }

    private static WgKey WriteVpcKey(string stateDir, string iface) => VpcKeyStore.LoadOrCreate(stateDir, iface);

    private static void WriteAppliedVpc(string stateDir, string id, string iface)
    {
        string dir = Path.Combine(stateDir, "applied", "vpc");
        Directory.CreateDirectory(dir);
        File.WriteAllText(Path.Combine(dir, id + ".json"), $$"""{"interface":"{{iface}}","listenPort":51830,"addresses":["fd00:1::1/64"]}""");
    }

    private async Task<Kraud.Agent.ControlPlane.HostRecord> WaitForHostAsync(string host)
    {
        Kraud.Agent.ControlPlane.HostRecord? r = null;
        await Deadline.WaitUntilAsync(async () =>
        {
            try { r = await Cp.GetHostAsync(host); }
            catch (NATS.Client.Core.NatsException) { r = null; }
            return r is not null;
        }, TimeSpan.FromSeconds(30), "the host record");
        return r!;
    }
}
