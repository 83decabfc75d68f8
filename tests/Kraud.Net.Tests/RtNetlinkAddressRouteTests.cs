using System.Net;
using Kraud.Net.Netlink;
using Kraud.Net.Rtnl;
using Kraud.Libc;

namespace Kraud.Net.Tests;

public class RtNetlinkAddressRouteTests
{
    [Fact]
    public void AddressesAddListReplaceDelete()
    {
        using var ns = new TestNetns();
        var rt = ns.Rtnl;
        rt.LinkAdd(new VethSpec("a0", "a1"));
        int ix = rt.LinkGet("a0").Index;
        rt.LinkSetUp(ix);
        rt.AddrAdd(ix, IpPrefix.Parse("fd00:1::1/64"));
        rt.AddrAdd(ix, IpPrefix.Parse("10.9.0.1/24"));

        var six = Assert.Single(rt.AddrList(ix, 10), a => a.Prefix.Address.Equals(IPAddress.Parse("fd00:1::1")));
        Assert.Equal(64, six.Prefix.PrefixLength);
        Assert.NotEqual(0u, six.Flags & AddressFlags.NoDad);
        Assert.Equal(0u, six.Flags & AddressFlags.Tentative); // usable at once
        var four = Assert.Single(rt.AddrList(ix, 2));
        Assert.Equal("10.9.0.1/24", four.Prefix.ToString());
        Assert.Contains("10.9.0.1/24", ns.Exec("ip", "-o", "-4", "addr", "show", "dev", "a0"));

        var e = Assert.Throws<NetlinkException>(() => rt.AddrAdd(ix, IpPrefix.Parse("fd00:1::1/64")));
        Assert.Equal(Errno.EEXIST, e.Errno);
        Assert.Contains("fd00:1::1/64", e.Message);
        rt.AddrReplace(ix, IpPrefix.Parse("fd00:1::1/64")); // idempotent

        var missing = Assert.Throws<NetlinkException>(() => rt.AddrAdd(999_999, IpPrefix.Parse("fd00:9::1/64")));
        Assert.Equal(Errno.ENODEV, missing.Errno);

        rt.AddrDel(ix, IpPrefix.Parse("fd00:1::1/64"));
        rt.AddrDel(ix, IpPrefix.Parse("10.9.0.1/24"));
        Assert.DoesNotContain(rt.AddrList(ix), a => a.Prefix.Address.Equals(IPAddress.Parse("fd00:1::1")));
        Assert.Empty(rt.AddrList(ix, 2));
    }

    [Fact]
    public void RoutesViaALinkAreItsRoutesInEveryTableOfBothFamiliesAndNoOtherLinks()
    {
        using var ns = new TestNetns();
        var rt = ns.Rtnl;
        rt.LinkAdd(new VethSpec("v0", "v1"));
        rt.LinkAdd(new VethSpec("w0", "w1"));
        int v = rt.LinkGet("v0").Index, w = rt.LinkGet("w0").Index;
        rt.LinkSetUp(v);
        rt.LinkSetUp(w);
        foreach (var (ix, n) in new[] { (v, 1), (w, 2) })
        {
            rt.RouteReplace(new Route(IpPrefix.Parse($"fd0{n}:2::/48")) { OutputIndex = ix, Protocol = RouteProtocols.Kraud });
            rt.RouteReplace(new Route(IpPrefix.Parse($"10.7{n}.0.0/16")) { OutputIndex = ix, Protocol = RouteProtocols.Kraud });
            rt.RouteReplace(new Route(IpPrefix.Parse($"fd0{n}:3::/64")) { OutputIndex = ix, Table = 1000, Protocol = RouteProtocols.Kraud });
            rt.RouteReplace(new Route(IpPrefix.Parse($"10.8{n}.0.0/16")) { OutputIndex = ix, Table = 1001, Protocol = RouteProtocols.Kraud });
        }

        var via = rt.RoutesVia(v).Where(r => r.Protocol == RouteProtocols.Kraud).Select(r => $"{r.Destination} table {r.Table}").Order().ToList();
        Assert.Equal(["10.71.0.0/16 table 254", "10.81.0.0/16 table 1001", "fd01:2::/48 table 254", "fd01:3::/64 table 1000"], via);
        Assert.All(rt.RoutesVia(v), r => Assert.Equal(v, r.OutputIndex));
        Assert.Equal(4, rt.RoutesVia(w).Count(r => r.Protocol == RouteProtocols.Kraud));
        Assert.Throws<NetlinkException>(() => rt.RoutesVia(999_999)); // no such link: the kernel says so, not an empty list
    }

    [Fact]
    public void ALinkCarriesItsIpv6ForwardingAsNetconfReadsIt()
    {
        using var ns = new TestNetns();
        var rt = ns.Rtnl;
        rt.LinkAdd(new VethSpec("f0", "f1"));
        var before = rt.LinkGet("f0");
        Assert.Equal(0, before.Ipv6Forwarding);
        Assert.Equal(rt.Ipv6Forwarding(before.Index), before.Ipv6Forwarding);
        ns.Exec("sysctl", "-qw", "net.ipv6.conf.f0.forwarding=1");
        var after = rt.LinkGet("f0");
        Assert.Equal(1, after.Ipv6Forwarding);
        Assert.Equal(1, rt.LinkList().Single(l => l.Name == "f0").Ipv6Forwarding);
        Assert.Equal(0, rt.LinkGet("f1").Ipv6Forwarding);
    }

    [Fact]
    public void RoutesReplaceListDeleteInTablesBothFamilies()
    {
        using var ns = new TestNetns();
        var rt = ns.Rtnl;
        rt.LinkAdd(new VethSpec("r0", "r1"));
        int ix = rt.LinkGet("r0").Index;
        rt.LinkSetUp(ix);
        rt.AddrAdd(ix, IpPrefix.Parse("fd00:1::1/64"));
        rt.AddrAdd(ix, IpPrefix.Parse("10.9.0.1/24"));

        var viaGw = new Route(IpPrefix.Parse("fd00:2::/48")) { Gateway = IPAddress.Parse("fd00:1::2"), OutputIndex = ix, Protocol = RouteProtocols.Kraud };
        var onLink4 = new Route(IpPrefix.Parse("10.77.0.0/16")) { OutputIndex = ix, Protocol = RouteProtocols.Kraud };
        var inTable = new Route(IpPrefix.Parse("fd00:3::/64")) { OutputIndex = ix, Table = 1000, Protocol = RouteProtocols.Kraud };
        rt.RouteReplace(viaGw);
        rt.RouteReplace(viaGw); // idempotent
        rt.RouteReplace(onLink4);
        rt.RouteReplace(inTable);

        var r6 = Assert.Single(rt.RouteList(10), r => r.Destination.ToString() == "fd00:2::/48");
        Assert.Equal((IPAddress.Parse("fd00:1::2"), ix, RouteProtocols.Kraud), (r6.Gateway, r6.OutputIndex, r6.Protocol));
        var r4 = Assert.Single(rt.RouteList(2), r => r.Destination.ToString() == "10.77.0.0/16");
        Assert.Equal((ix, (byte)253), (r4.OutputIndex, r4.Scope));
        Assert.Single(rt.RouteList(10, 1000), r => r.Destination.ToString() == "fd00:3::/64");
        Assert.DoesNotContain(rt.RouteList(10), r => r.Destination.ToString() == "fd00:3::/64");
        Assert.Contains("fd00:3::/64 dev r0", ns.Exec("ip", "-6", "route", "show", "table", "1000"));

        rt.RouteDel(viaGw);
        rt.RouteDel(onLink4);
        rt.RouteDel(inTable);
        Assert.DoesNotContain(rt.RouteList(10, 0), r => r.Protocol == RouteProtocols.Kraud);
        Assert.DoesNotContain(rt.RouteList(2, 0), r => r.Protocol == RouteProtocols.Kraud);

        var gone = Assert.Throws<NetlinkException>(() => rt.RouteDel(viaGw));
        Assert.Equal(Errno.ESRCH, gone.Errno);
        Assert.True(gone.IsNotFound);
    }

    [Fact]
    public void BadPrefixIsRefusedByTheKernelWithItsMessage()
    {
        using var ns = new TestNetns();
        rtSetup(ns, out int ix);
        // Host bits set beyond the prefix length: IPv4 FIB refuses and explains.
        var e = Assert.Throws<NetlinkException>(() => ns.Rtnl.RouteReplace(new Route(IpPrefix.Parse("10.77.1.2/16")) { OutputIndex = ix }));
        Assert.Equal(Errno.EINVAL, e.Errno);
        Assert.Contains("10.77.1.2/16", e.Message);
        Assert.Contains("prefix", e.KernelMessage, StringComparison.OrdinalIgnoreCase);
    }

    private static void rtSetup(TestNetns ns, out int ix)
    {
        ns.Rtnl.LinkAdd(new VethSpec("p0", "p1"));
        ix = ns.Rtnl.LinkGet("p0").Index;
        ns.Rtnl.LinkSetUp(ix);
        ns.Rtnl.AddrAdd(ix, IpPrefix.Parse("10.77.0.1/24"));
    }
}

/// <summary>Dumps stay complete while the kernel's tables change under them (NLM_F_DUMP_INTR is retried).</summary>
public class DumpConsistencyTests
{
    [Fact]
    public async Task AddressDumpsAreCompleteUnderChurn()
    {
        using var ns = new TestNetns();
        var rt = ns.Rtnl;
        rt.LinkAdd(new VethSpec("s0", "s1"));
        rt.LinkAdd(new VethSpec("c0", "c1"));
        int stable = rt.LinkGet("s0").Index, churn = rt.LinkGet("c0").Index;
        rt.LinkSetUp(stable);
        rt.LinkSetUp(churn);
        for (int i = 0; i < 300; i++) rt.AddrAdd(stable, new IpPrefix(IPAddress.Parse($"fd00:5::{i + 1:x}"), 64));

        // A second socket, on its own thread, keeps changing addresses on another link while the first dumps.
        long churned = 0;
        bool stop = false;
        var churner = new Thread(() =>
        {
            using var other = RtNetlink.Open(ns.Ns);
            for (int n = 0; !Volatile.Read(ref stop); n++)
            {
                var p = new IpPrefix(IPAddress.Parse($"fd00:6::{n % 50 + 1:x}"), 64);
                other.AddrAdd(churn, p);
                other.AddrDel(churn, p);
                Interlocked.Increment(ref churned);
            }
        });
        churner.Start();
        try
        {
            await Kraud.Testing.Deadline.WaitUntilAsync(() => Interlocked.Read(ref churned) > 0, TimeSpan.FromSeconds(30), "the churn thread to start");
            long before = Interlocked.Read(ref churned);
            var until = DateTime.UtcNow + TimeSpan.FromSeconds(60);
            // Dump until the churn has clearly overlapped the dumps (and at least 40 times).
            for (int round = 0; round < 40 || Interlocked.Read(ref churned) < before + 20; round++)
            {
                Assert.True(DateTime.UtcNow < until, "churn and dumps did not overlap within 60 s");
                var list = rt.AddrList(0, 10);
                Assert.Equal(300, list.Count(a => a.LinkIndex == stable && a.Prefix.Address.ToString().StartsWith("fd00:5::", StringComparison.Ordinal)));
            }
        }
        finally
        {
            Volatile.Write(ref stop, true);
            churner.Join();
        }
    }
}
