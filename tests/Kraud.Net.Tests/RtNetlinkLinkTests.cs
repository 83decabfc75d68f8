using Kraud.Net.Netlink;
using Kraud.Net.Rtnl;
using Kraud.Libc;

namespace Kraud.Net.Tests;

/// <summary>Links in a namespace the test creates: create, read back, change, move, delete, and the error paths.</summary>
public class RtNetlinkLinkTests
{
    [Fact]
    public void VethBridgeMasterMtuUpDown()
    {
        using var ns = new TestNetns();
        var rt = ns.Rtnl;
        rt.LinkAdd(new VethSpec("va0", "vb0") { Mtu = 1400 });
        rt.LinkAdd(new BridgeSpec("br0"));
        var va = rt.LinkGet("va0");
        var br = rt.LinkGet("br0");
        Assert.Equal(("veth", 1400), (va.Kind, va.Mtu));
        Assert.Equal("bridge", br.Kind);
        Assert.Equal(1400, rt.LinkGet("vb0").Mtu); // the peer got the MTU too

        rt.LinkSetMaster(va.Index, br.Index);
        rt.LinkSetMtu(va.Index, 1300);
        rt.LinkSetUp(va.Index);
        va = rt.LinkGet(va.Index);
        Assert.Equal((br.Index, 1300, true), (va.MasterIndex, va.Mtu, va.IsUp));
        Assert.NotEqual(0u, va.Flags & LinkFlags.Multicast); // the flag mask kept the other flags

        // iproute2 sees the same thing.
        Assert.Contains("master br0", ns.Exec("ip", "-o", "link", "show", "va0"));

        rt.LinkSetDown(va.Index);
        rt.LinkSetMaster(va.Index, 0);
        va = rt.LinkGet(va.Index);
        Assert.Equal((0, false), (va.MasterIndex, va.IsUp));

        var names = rt.LinkList().Select(l => l.Name).ToHashSet();
        Assert.Superset(new HashSet<string> { "lo", "va0", "vb0", "br0" }, names);

        rt.LinkDel("va0");
        Assert.Null(rt.LinkFind("vb0")); // deleting one end deletes the pair
        rt.LinkDel(br.Index);
        Assert.Equal(["lo"], rt.LinkList().Select(l => l.Name));
    }

    [Fact]
    public void DuplicateNameIsEexistNamingTheLink()
    {
        using var ns = new TestNetns();
        ns.Rtnl.LinkAdd(new BridgeSpec("dup0"));
        var e = Assert.Throws<NetlinkException>(() => ns.Rtnl.LinkAdd(new BridgeSpec("dup0")));
        Assert.Equal(Errno.EEXIST, e.Errno);
        Assert.Contains("add link bridge \"dup0\"", e.Message);
        Assert.Contains("EEXIST", e.Message);
    }

    [Fact]
    public void MissingLinkIsEnodev()
    {
        using var ns = new TestNetns();
        var e = Assert.Throws<NetlinkException>(() => ns.Rtnl.LinkGet("nope0"));
        Assert.Equal(Errno.ENODEV, e.Errno);
        Assert.Contains("\"nope0\"", e.Message);
        Assert.Null(ns.Rtnl.LinkFind("nope0"));
        var del = Assert.Throws<NetlinkException>(() => ns.Rtnl.LinkDel("nope0"));
        Assert.Equal(Errno.ENODEV, del.Errno);
        var up = Assert.Throws<NetlinkException>(() => ns.Rtnl.LinkSetUp(999_999));
        Assert.Equal(Errno.ENODEV, up.Errno);
    }

    [Fact]
    public void UnknownKindCarriesTheKernelsMessage()
    {
        using var ns = new TestNetns();
        var e = Assert.Throws<NetlinkException>(() => ns.Rtnl.LinkAdd(new UnknownKindSpec("x0")));
        Assert.Equal(Errno.EOPNOTSUPP, e.Errno);
        Assert.Equal("Unknown device type", e.KernelMessage);
        Assert.Contains("Unknown device type", e.Message);
    }

    private sealed record UnknownKindSpec(string Name) : LinkSpec(Name)
    {
        public override string Kind => "no-such-kind";
    }

    [Fact]
    public void PeerBornInAnotherNamespaceAndMoveBack()
    {
        using var a = new TestNetns();
        using var b = new TestNetns();
        a.Rtnl.LinkAdd(new VethSpec("to-b", "to-a") { PeerNamespace = b.Ns });
        Assert.Null(a.Rtnl.LinkFind("to-a"));
        var peer = b.Rtnl.LinkGet("to-a");
        Assert.Equal("veth", peer.Kind);

        // Move it back under a new name in the same request.
        b.Rtnl.LinkSetNsFd(peer.Index, a.Ns, "back0");
        Assert.Null(b.Rtnl.LinkFind("to-a"));
        Assert.Equal("veth", a.Rtnl.LinkGet("back0").Kind);

        // A bridge is netns-local: the kernel refuses and says why.
        a.Rtnl.LinkAdd(new BridgeSpec("br-local"));
        var e = Assert.Throws<NetlinkException>(() => a.Rtnl.LinkSetNsFd(a.Rtnl.LinkGet("br-local").Index, b.Ns));
        Assert.Equal(Errno.EINVAL, e.Errno);
        Assert.False(string.IsNullOrEmpty(e.KernelMessage));
    }

    [Fact]
    public void DumpOfAThousandLinksIsCompleteAndGroupDeleteRemovesThem()
    {
        using var ns = new TestNetns();
        for (int i = 0; i < 500; i++) ns.Rtnl.LinkAdd(new VethSpec($"d{i}a", $"d{i}b") { Group = 42 });
        var links = ns.Rtnl.LinkList();
        Assert.Equal(1001, links.Count); // 1,000 veth ends and lo
        Assert.Equal(1000, links.Count(l => l.Group == 42));
        Assert.Equal(1000, links.Select(l => l.Index).Distinct().Count(l => l != 1));
        for (int i = 0; i < 500; i++)
        {
            Assert.Contains(links, l => l.Name == $"d{i}a");
            Assert.Contains(links, l => l.Name == $"d{i}b");
        }

        ns.Rtnl.LinkDelGroup(42);
        Assert.Equal(["lo"], ns.Rtnl.LinkList().Select(l => l.Name));
    }
}
