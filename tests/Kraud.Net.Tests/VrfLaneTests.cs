using Kraud.Net.Rtnl;
using Kraud.Net.Sysctl;

namespace Kraud.Net.Tests;

/// <summary>
/// VRF devices: only in the kernel lane. This machine's kernel has no vrf module (`ip link add x type vrf` fails with
/// "Unknown device type"), the lane's Debian kernel has it.
/// </summary>
[Trait("lane", "kernel"), Trait("vrf", "kernel")]
public class VrfLaneTests
{
    [Fact]
    public void AVrfWithATableAbove255TakesItsSlavesRoutesAndTheKernelAddsTheL3mdevRules()
    {
        using var ns = new TestNetns("kvr");
        var rt = ns.Rtnl;
        const uint table = 0x4B560123;
        rt.LinkAdd(new VrfSpec("kvrf0", table));
        var vrf = rt.LinkGet("kvrf0");
        Assert.Equal(("vrf", table), (vrf.Kind, vrf.VrfTable));
        Assert.Contains($"vrf table {table}", ns.Exec("ip", "-d", "link", "show", "kvrf0"));
        // The kernel's own rules, added with the first VRF of the namespace: nothing for the agent to add or remove.
        Assert.Contains("l3mdev-table", ns.Exec("ip", "-4", "rule", "show"));
        Assert.Contains("l3mdev-table", ns.Exec("ip", "-6", "rule", "show"));

        rt.LinkAdd(new VethSpec("kva0", "kvb0"));
        var slave = rt.LinkGet("kva0");
        rt.LinkSetMaster(slave.Index, vrf.Index);
        rt.LinkSetUp(vrf.Index);
        rt.LinkSetUp(slave.Index);
        rt.LinkSetUp("kvb0");
        Assert.Equal(vrf.Index, rt.LinkGet(slave.Index).MasterIndex);
        Assert.Null(rt.LinkGet("kvb0").VrfTable);

        var route = new Route(IpPrefix.Parse("10.9.0.0/24")) { OutputIndex = slave.Index, Table = table, Protocol = RouteProtocols.Kraud };
        rt.RouteAdd(route);
        rt.RouteAdd(route with { Destination = IpPrefix.Parse("fd42:9::/64") });
        Assert.Contains(rt.RouteList(2, table), r => r.Destination == IpPrefix.Parse("10.9.0.0/24") && r.Table == table && r.OutputIndex == slave.Index);
        Assert.Contains(rt.RouteList(10, table), r => r.Destination == IpPrefix.Parse("fd42:9::/64") && r.Table == table);
        Assert.DoesNotContain(rt.RouteList(2), r => r.Destination == IpPrefix.Parse("10.9.0.0/24"));
        Assert.Contains("10.9.0.0/24 dev kva0 proto 75", ns.Exec("ip", "route", "show", "vrf", "kvrf0"));

        // A route in the VRF's table steers traffic of its slaves only: the main table knows nothing of it.
        Assert.NotEqual(0, ns.TryExec("ip", "route", "get", "10.9.0.7").Code);
        Assert.Contains("dev kva0", ns.Exec("ip", "route", "get", "vrf", "kvrf0", "10.9.0.7"));

        // Deleting the VRF releases its slave (which stays) and empties the table.
        rt.RouteDel(route);
        rt.LinkDel(vrf.Index);
        Assert.Equal(0, rt.LinkGet(slave.Index).MasterIndex);
        Assert.Empty(rt.RouteList(2, table));
    }

    [Fact]
    public void SysctlsOfAVrfSlaveAreWrittenInItsNamespaceOnly()
    {
        using var ns = new TestNetns("kvs");
        ns.Rtnl.LinkAdd(new VrfSpec("kvrf1", 0x4B560124));
        string before = NetSysctl.Read(null, "ipv4/conf/all/rp_filter");
        var written = NetSysctl.Ensure(ns.Ns, [NetSysctl.Ipv4("kvrf1", "rp_filter", 1), NetSysctl.Ipv4("kvrf1", "forwarding", 1)]);
        Assert.Equal(2, written.Count);
        Assert.Equal("1", ns.Exec("cat", "/proc/sys/net/ipv4/conf/kvrf1/rp_filter").Trim());
        Assert.Empty(NetSysctl.Ensure(ns.Ns, [NetSysctl.Ipv4("kvrf1", "rp_filter", 1)]));
        Assert.False(Directory.Exists("/proc/sys/net/ipv4/conf/kvrf1"));
        Assert.Equal(before, NetSysctl.Read(null, "ipv4/conf/all/rp_filter"));
    }
}
