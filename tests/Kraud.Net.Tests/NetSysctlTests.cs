using Kraud.Net.Rtnl;
using Kraud.Net.Sysctl;

namespace Kraud.Net.Tests;

/// <summary>Per-device network sysctls of a test namespace: written there, read back by a process inside it, never on the host.</summary>
public class NetSysctlTests
{
    [Fact]
    public void EnsureWritesOnlyWhatDiffersAndOnlyInTheNamespace()
    {
        using var ns = new TestNetns("kns");
        ns.Rtnl.LinkAdd(new VethSpec("ksa0", "ksb0"));
        string hostValue = NetSysctl.Read(null, "ipv4/conf/all/forwarding");
        var settings = new[] { NetSysctl.Ipv4("ksa0", "rp_filter", 1), NetSysctl.Ipv4("ksa0", "forwarding", 1), NetSysctl.Ipv6("ksa0", "forwarding", 1) };

        var written = NetSysctl.Ensure(ns.Ns, settings);
        Assert.Equal(["ipv4/conf/ksa0/rp_filter", "ipv4/conf/ksa0/forwarding", "ipv6/conf/ksa0/forwarding"], written);
        Assert.Equal("1", ns.Exec("cat", "/proc/sys/net/ipv4/conf/ksa0/forwarding").Trim());
        Assert.Equal("1", ns.Exec("cat", "/proc/sys/net/ipv6/conf/ksa0/forwarding").Trim());
        Assert.Equal("0", ns.Exec("cat", "/proc/sys/net/ipv4/conf/ksb0/forwarding").Trim());
        Assert.Equal("1", NetSysctl.Read(ns.Ns, "ipv4/conf/ksa0/rp_filter"));
        Assert.Empty(NetSysctl.Ensure(ns.Ns, settings)); // unchanged: reads only
        Assert.False(Directory.Exists("/proc/sys/net/ipv4/conf/ksa0")); // the test's own namespace has no such device
        Assert.Equal(hostValue, NetSysctl.Read(null, "ipv4/conf/all/forwarding"));
        Assert.Throws<ArgumentException>(() => NetSysctl.Read(ns.Ns, "../../kernel/hostname"));
    }
}

/// <summary>Route dumps of a table the kernel has not made yet.</summary>
public class RouteListOfAMissingTableTests
{
    [Fact]
    public void AnIpv4TableThatDoesNotExistYetHasNoRoutes()
    {
        using var ns = new TestNetns("krt");
        // A fresh namespace has no IPv4 table 5000 (nor, until a route goes there, main): the kernel answers ENOENT.
        var (code, output) = ns.TryExec("ip", "-4", "route", "show", "table", "5000");
        Assert.True(code != 0 || output.Trim().Length == 0, output);
        Assert.Empty(ns.Rtnl.RouteList(2, 5000));
        Assert.Empty(ns.Rtnl.RouteList(10, 5000));
    }
}
