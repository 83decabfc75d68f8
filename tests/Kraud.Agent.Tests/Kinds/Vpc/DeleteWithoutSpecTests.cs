using Kraud.Agent.Kinds.Overlay;
using Kraud.Agent.Kinds.Vpc;
using Kraud.Net.Rtnl;
using Kraud.Net.WireGuard;

namespace Kraud.Agent.Tests.Kinds.Vpc;

/// <summary>
/// A delete that comes without a spec (the resource was never applied on this host, or the state directory was
/// lost) finds what the resource has from its id alone, removes only that, and succeeds when nothing is there.
/// </summary>
public class DeleteWithoutSpecTests
{
    // Kernel lane: every Vpc has its VRF, and this machine's kernel has no vrf module (`ip link add x type vrf` fails).
    [Fact, Trait("lane", "kernel"), Trait("vrf", "kernel")]
    public async Task AVpcInterfaceIsTaggedWithItsOwnerAndDeletedByThatTagAlone()
    {
        using var ns = new TestNetns("kd");
        using var state = new TempDir("kraud-vpc");
        using var rec = new VpcReconciler(ns.Ns, WgBackendKind.Userspace);
        await rec.ReconcileAsync(new VpcSpec { Interface = "kvpc7", ListenPort = 51877, Addresses = ["fd42:7::1/64"] }, state.Path, owner: "vpc-7");
        Assert.Equal("kraud:vpc:vpc-7", ns.Rtnl.LinkGet("kvpc7").Alias);
        Assert.Contains("alias kraud:vpc:vpc-7", ns.Exec("ip", "link", "show", "kvpc7")); // what iproute2 reads back

        // Another resource's delete and a delete of one this host never had touch nothing and succeed.
        Assert.Empty(await rec.DeleteOwnedAsync("vpc-other", null));
        Assert.NotNull(ns.Rtnl.LinkFind("kvpc7"));

        Assert.Equal(Kraud.Agent.Kinds.VpcDomain.OwnerAlias("vpc-7"), ns.Rtnl.LinkGet(Kraud.Agent.Kinds.VpcDomain.VrfName("vpc-7")).Alias);
        Assert.Equal(["kvpc7", Kraud.Agent.Kinds.VpcDomain.VrfName("vpc-7")], await rec.DeleteOwnedAsync("vpc-7", null));
        Assert.Null(ns.Rtnl.LinkFind("kvpc7"));
        Assert.Null(ns.Rtnl.LinkFind(Kraud.Agent.Kinds.VpcDomain.VrfName("vpc-7")));
        Assert.Empty(await rec.DeleteOwnedAsync("vpc-7", null)); // idempotent
    }

    [Fact]
    public async Task AnOverlayDeleteRemovesTheRoutesOfItsIdAndNoOthers()
    {
        // ip6tnl is not in this host's kernel (the lane covers the tunnels): the routes sit on a veth here,
        // which is all the delete looks at to find an overlay's share of the host.
        using var ns = new TestNetns("kd");
        ns.Rtnl.LinkAdd(new VethSpec("kov0", "kov1"));
        ns.Rtnl.LinkSetUp("kov1");
        ns.Rtnl.LinkSetUp("kov0");
        int index = ns.Rtnl.LinkGet("kov0").Index;
        Route Own(string destination, string id) => new(IpPrefix.Parse(destination))
        {
            OutputIndex = index, Protocol = RouteProtocols.Kraud, Priority = OverlayReconciler.Metric(id),
        };
        ns.Rtnl.RouteReplace(Own("10.20.0.2/32", "ov-1"));
        ns.Rtnl.RouteReplace(Own("10.20.0.3/32", "ov-1"));
        ns.Rtnl.RouteReplace(Own("10.30.0.2/32", "ov-2"));
        var rec = new OverlayReconciler(ns.Ns);

        Assert.Equal(0, await rec.DeleteAsync("ov-never-here"));
        Assert.Equal(3, KraudRoutes(ns).Count);
        Assert.Equal(2, await rec.DeleteAsync("ov-1"));
        Assert.Equal(["10.30.0.2/32"], KraudRoutes(ns));
        Assert.Equal(0, await rec.DeleteAsync("ov-1")); // idempotent
        Assert.Equal(["10.30.0.2/32"], KraudRoutes(ns));
    }

    private static List<string> KraudRoutes(TestNetns ns) =>
        ns.Rtnl.RouteList(2).Where(r => r.Protocol == RouteProtocols.Kraud).Select(r => r.Destination.ToString()).Order().ToList();
}
