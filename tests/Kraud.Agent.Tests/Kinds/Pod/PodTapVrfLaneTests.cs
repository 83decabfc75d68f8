using System.Net;
using Kraud.Agent.Kinds.Pod;
using Kraud.Agent.Kinds.Vpc;
using Kraud.Net.Rtnl;
using Kraud.Net.Sysctl;
using Kraud.Net.WireGuard;

namespace Kraud.Agent.Tests.Kinds.Pod;

/// <summary>
/// A pod whose network names a Vpc: its tap in that Vpc's VRF, its /128 and /32 in the VRF's table. Kernel lane only:
/// this machine's kernel has no vrf module.
/// </summary>
[Trait("lane", "kernel"), Trait("vrf", "kernel")]
public class PodTapVrfLaneTests
{
    [Fact]
    public async Task APodInAVpcHasItsTapInTheVrfAndItsRoutesInTheVrfsTable()
    {
        using var ns = new TestNetns("kpv");
        using var state = new TempDir("kraud-vpc");
        using var vpc = new VpcReconciler(ns.Ns, WgBackendKind.Kernel);
        await vpc.ReconcileAsync(new VpcSpec { Interface = "kpvwg0", ListenPort = 51899, Addresses = ["fd42:9::1/64"] }, state.Path, "vpc-p");
        var vrf = VpcDomain.Find(ns.Rtnl, "vpc-p")!;
        uint table = vrf.VrfTable!.Value;
        var tap = new PodTap(ns.Ns);

        // A Vpc this host does not have is transient: its Vpc may come.
        await Assert.ThrowsAsync<TransientReconcileException>(() => Task.Run(() => tap.Ensure("pod-x", IPAddress.Parse("fd42:9:a::18"), null, "vpc-absent")));

        string name = tap.Ensure("pod-v", IPAddress.Parse("fd42:9:a::17"), IPAddress.Parse("10.9.0.17"), "vpc-p");
        var link = ns.Rtnl.LinkGet(name);
        Assert.Equal(vrf.Index, link.MasterIndex);
        var inTable = ns.Rtnl.RouteList(10, table).Concat(ns.Rtnl.RouteList(2, table))
            .Where(r => r.OutputIndex == link.Index && r.Protocol == RouteProtocols.Kraud).Select(r => r.Destination.ToString()).Order().ToList();
        Assert.Equal(["10.9.0.17/32", "fd42:9:a::17/128"], inTable);
        Assert.DoesNotContain(ns.Rtnl.RouteList(10).Concat(ns.Rtnl.RouteList(2)), r => r.OutputIndex == link.Index && r.Protocol == RouteProtocols.Kraud);
        Assert.Equal(("1", "1", "1"), (NetSysctl.Read(ns.Ns, $"ipv4/conf/{name}/rp_filter"), NetSysctl.Read(ns.Ns, $"ipv4/conf/{name}/forwarding"),
            NetSysctl.Read(ns.Ns, $"ipv6/conf/{name}/forwarding")));
        Assert.Equal(name, tap.Ensure("pod-v", IPAddress.Parse("fd42:9:a::17"), IPAddress.Parse("10.9.0.17"), "vpc-p")); // idempotent
        Assert.Equal(2, tap.Observe("pod-v")!.Value.Routes.Count);

        // The Vpc's delete waits for its pods: deleting the VRF would drop the tap into the main table.
        var e = await Assert.ThrowsAsync<TransientReconcileException>(() => vpc.DeleteOwnedAsync("vpc-p", "kpvwg0"));
        Assert.Contains(name, e.Message);
        Assert.True(tap.Remove("pod-v"));
        await vpc.DeleteOwnedAsync("vpc-p", "kpvwg0");
        Assert.Null(VpcDomain.Find(ns.Rtnl, "vpc-p"));
        Assert.Empty(ns.Rtnl.RouteList(2, table).Concat(ns.Rtnl.RouteList(10, table)));
    }
}
