using System.Net;
using Kraud.Agent.Kinds.Overlay;
using Kraud.Agent.Kinds.Vpc;
using Kraud.Net.Rtnl;
using Kraud.Net.WireGuard;

namespace Kraud.Agent.Tests.Kinds.Vpc;

/// <summary>
/// The agent changes or removes only what carries its mark and is of the kind it makes: a link with the Vpc's
/// interface name but without the alias kraud:vpc:&lt;id&gt;, or with it on a link that is no WireGuard (kernel
/// wireguard or wireguard-go's tun), is refused (<see cref="ForeignObjectException"/>, permanent) and left as it
/// was; so is a route with a spec's destination that is not the agent's (protocol 75). Routes on a Vpc link that
/// the agent did not add stay; addresses on it are the spec's. Userspace WireGuard here (the kernel lane covers kernel WireGuard and ip6tnl).
/// </summary>
public class ForeignObjectTests
{
    private static string Name(TestNetns ns, string prefix) => prefix + ns.Name[^6..];

    private static VpcSpec Spec(string iface) => new() { Interface = iface, ListenPort = 51870, Addresses = ["fd42:70::1/64"] };

    [Fact]
    public async Task AVpcDeleteLeavesAPlainBridgeOfItsInterfaceNameAlone()
    {
        using var ns = new TestNetns("kf");
        string name = Name(ns, "kfb");
        ns.Rtnl.LinkAdd(new BridgeSpec(name));
        int index = ns.Rtnl.LinkGet(name).Index;
        using var rec = new VpcReconciler(ns.Ns, WgBackendKind.Userspace);

        var e = await Assert.ThrowsAsync<ForeignObjectException>(() => rec.DeleteOwnedAsync("vpc-f1", name));
        Assert.Equal($"link {name} exists and is not kraud's (no alias kraud:vpc:vpc-f1); left untouched", e.Message);
        var left = ns.Rtnl.LinkGet(name);
        Assert.Equal((index, "bridge", (string?)null), (left.Index, left.Kind, left.Alias));
    }

    [Fact]
    public async Task AVpcDeleteLeavesALinkThatCarriesTheAliasButIsNoWireGuard()
    {
        using var ns = new TestNetns("kf");
        string name = Name(ns, "kfa");
        ns.Rtnl.LinkAdd(new BridgeSpec(name));
        int index = ns.Rtnl.LinkGet(name).Index;
        ns.Rtnl.LinkSetAlias(index, VpcReconciler.OwnerAlias("vpc-f2"));
        using var rec = new VpcReconciler(ns.Ns, WgBackendKind.Userspace);

        // Found by the alias alone (no spec) and by the spec's name: refused either way.
        foreach (string? iface in new[] { null, name })
        {
            var e = await Assert.ThrowsAsync<ForeignObjectException>(() => rec.DeleteOwnedAsync("vpc-f2", iface));
            Assert.Equal($"link {name} carries alias kraud:vpc:vpc-f2 but is a bridge link, not wireguard or tun; left untouched", e.Message);
            Assert.Equal(index, ns.Rtnl.LinkGet(name).Index);
        }
    }

    [Fact]
    public async Task AVpcCreateOverSomeoneElsesTunOrVethRefusesAndLeavesIt()
    {
        using var ns = new TestNetns("kf");
        string tun = Name(ns, "kft"), veth = Name(ns, "kfv");
        ns.Exec("ip", "tuntap", "add", "dev", tun, "mode", "tun");
        ns.Rtnl.LinkAdd(new VethSpec(veth, veth + "p"));
        using var state = new TempDir("kraud-vpc");
        using var rec = new VpcReconciler(ns.Ns, WgBackendKind.Userspace);

        foreach (var (name, kind) in new[] { (tun, "tun"), (veth, "veth") })
        {
            int index = ns.Rtnl.LinkGet(name).Index;
            var e = await Assert.ThrowsAsync<ForeignObjectException>(() => rec.ReconcileAsync(Spec(name), state.Path, owner: "vpc-f3"));
            Assert.Equal($"link {name} exists and is not kraud's (no alias kraud:vpc:vpc-f3); left untouched", e.Message);
            var left = ns.Rtnl.LinkGet(name);
            Assert.Equal((index, kind, (string?)null), (left.Index, left.Kind, left.Alias));
            Assert.DoesNotContain(ns.Rtnl.AddrList(index), a => a.Scope == 0);
        }
    }

    [Fact]
    public async Task AVpcCreateOverSomeoneElsesWireGuardOfTheSameNameRefusesAndKeepsItsKey()
    {
        using var ns = new TestNetns("kf");
        string name = Name(ns, "kfw");
        using var theirs = new UserspaceWireGuard(ns.Ns);
        theirs.CreateInterface(name);
        try
        {
            var key = WgKey.GeneratePrivate();
            theirs.ConfigureDevice(name, new WgConfig { PrivateKey = key, ListenPort = 51871 });
            using var state = new TempDir("kraud-vpc");
            using var rec = new VpcReconciler(ns.Ns, WgBackendKind.Userspace);

            var e = await Assert.ThrowsAsync<ForeignObjectException>(() => rec.ReconcileAsync(Spec(name), state.Path, owner: "vpc-f4"));
            Assert.Equal($"link {name} exists and is not kraud's (no alias kraud:vpc:vpc-f4); left untouched", e.Message);
            Assert.Null(ns.Rtnl.LinkGet(name).Alias);
            var device = theirs.GetDevice(name);
            Assert.Equal((key, 51871), (device.PrivateKey, device.ListenPort));
        }
        finally
        {
            ns.Rtnl.LinkDel(name);
        }
    }

    // Kernel lane: every Vpc has its VRF, and this machine's kernel has no vrf module (`ip link add x type vrf` fails).
    [Fact, Trait("lane", "kernel"), Trait("vrf", "kernel")]
    public async Task AVpcCreateOverAnotherVpcsInterfaceRefusesAndKeepsItsOwner()
    {
        using var ns = new TestNetns("kf");
        string name = Name(ns, "kfo");
        using var state = new TempDir("kraud-vpc");
        using var rec = new VpcReconciler(ns.Ns, WgBackendKind.Userspace);
        await rec.ReconcileAsync(Spec(name), state.Path, owner: "vpc-first");
        try
        {
            var e = await Assert.ThrowsAsync<ForeignObjectException>(() => rec.ReconcileAsync(Spec(name) with { Mtu = 1300 }, state.Path, owner: "vpc-second"));
            Assert.Equal($"link {name} exists and is not kraud's (no alias kraud:vpc:vpc-second); left untouched", e.Message);
            var left = ns.Rtnl.LinkGet(name);
            Assert.Equal(("kraud:vpc:vpc-first", VpcSpec.DefaultMtu), (left.Alias, left.Mtu));
            // And the second one's delete leaves it too.
            await Assert.ThrowsAsync<ForeignObjectException>(() => rec.DeleteOwnedAsync("vpc-second", name));
            Assert.NotNull(ns.Rtnl.LinkFind(name));
        }
        finally
        {
            await rec.DeleteOwnedAsync("vpc-first", name);
        }
    }

    // Kernel lane: every Vpc has its VRF, and this machine's kernel has no vrf module (`ip link add x type vrf` fails).
    [Fact, Trait("lane", "kernel"), Trait("vrf", "kernel")]
    public async Task ARouteOfTheSpecThatIsNotKraudsIsRefusedAndRoutesTheAgentDidNotAddStay()
    {
        using var ns = new TestNetns("kf");
        string name = Name(ns, "kfr");
        using var state = new TempDir("kraud-vpc");
        using var rec = new VpcReconciler(ns.Ns, WgBackendKind.Userspace);
        await rec.ReconcileAsync(Spec(name), state.Path, owner: "vpc-f5");
        try
        {
            int index = ns.Rtnl.LinkGet(name).Index;
            uint table = ns.Rtnl.LinkGet(Kraud.Agent.Kinds.VpcDomain.VrfName("vpc-f5")).VrfTable!.Value;
            // An operator's routes on the agent's link, in its VRF's table: one to a destination the spec will name, one to another.
            ns.Rtnl.RouteAdd(new Route(IpPrefix.Parse("fd42:71::/48")) { OutputIndex = index, Table = table, Protocol = RouteProtocols.Static });
            ns.Rtnl.RouteAdd(new Route(IpPrefix.Parse("fd42:72::/48")) { OutputIndex = index, Table = table, Protocol = RouteProtocols.Static });
            RouteProtocolsOf(ns, index, out var before);

            var spec = Spec(name) with { Routes = [new VpcRouteSpec { Destination = "fd42:71::/48" }, new VpcRouteSpec { Destination = "fd42:73::/48" }] };
            var e = await Assert.ThrowsAsync<ForeignObjectException>(() => rec.ReconcileAsync(spec, state.Path, owner: "vpc-f5"));
            Assert.Equal($"route fd42:71::/48 exists and is not kraud's (protocol {RouteProtocols.Static}, not {RouteProtocols.Kraud}); left untouched", e.Message);
            RouteProtocolsOf(ns, index, out var refused);
            Assert.Equal(before["fd42:71::/48"], refused["fd42:71::/48"]);
            Assert.Equal(RouteProtocols.Static, refused["fd42:71::/48"]);

            // Without the clash the agent adds its own and leaves the operator's, also when its own go again.
            await rec.ReconcileAsync(spec with { Routes = [new VpcRouteSpec { Destination = "fd42:73::/48" }] }, state.Path, owner: "vpc-f5");
            RouteProtocolsOf(ns, index, out var added);
            Assert.Equal(RouteProtocols.Kraud, added["fd42:73::/48"]);
            // Addresses on the agent's link are the spec's (the kernel keeps no mark on an address before 6.1):
            // one the spec does not list goes, link-local ones stay.
            ns.Exec("ip", "-6", "addr", "add", "fd42:78::5/64", "dev", name, "nodad");
            ns.Exec("ip", "-6", "addr", "add", "fe80::5/64", "dev", name, "nodad");
            await rec.ReconcileAsync(spec with { Routes = [] }, state.Path, owner: "vpc-f5");
            var addresses = ns.Rtnl.AddrList(index).Select(a => a.Prefix.ToString()).ToList();
            Assert.Contains("fd42:70::1/64", addresses);
            Assert.Contains("fe80::5/64", addresses);
            Assert.DoesNotContain("fd42:78::5/64", addresses);
            RouteProtocolsOf(ns, index, out var after);
            Assert.False(after.ContainsKey("fd42:73::/48"));
            Assert.Equal((RouteProtocols.Static, RouteProtocols.Static), (after["fd42:71::/48"], after["fd42:72::/48"]));
        }
        finally
        {
            await rec.DeleteOwnedAsync("vpc-f5", name);
        }
    }

    [Fact]
    public async Task AnOverlayRefusesALinkWithItsTunnelNameThatIsNotItsTunnel()
    {
        // ip6tnl itself is only in the kernel lane; the refusal of a link of another kind needs none.
        using var ns = new TestNetns("kf");
        ns.Rtnl.LinkAdd(new VethSpec("kfu0", "kfu1"));
        ns.Rtnl.LinkSetUp("kfu0");
        var local6 = IPAddress.Parse("fd42:74::1");
        var remote6 = IPAddress.Parse("fd42:74::2");
        string tunnel = OverlayReconciler.TunnelName("kfu0", local6, remote6);
        ns.Rtnl.LinkAdd(new VethSpec(tunnel, "kfv1"));
        int index = ns.Rtnl.LinkGet(tunnel).Index;
        var spec = new OverlaySpec
        {
            Namespace = "n", Name = "default", Vpc = "vpc-f1", Net4 = "10.74.0.0/24", Underlay = "kfu0",
            Local = new OverlayEndpoint { Ip6 = local6.ToString(), Ip4 = "10.74.0.1" },
            Members = [new OverlayEndpoint { Ip6 = remote6.ToString(), Ip4 = "10.74.0.2" }],
        };

        var e = await Assert.ThrowsAsync<ForeignObjectException>(() => new OverlayReconciler(ns.Ns).ReconcileAsync("ov-f1", spec));
        Assert.Equal($"link {tunnel} exists and is not kraud's (veth link without alias {OverlayReconciler.TunnelAlias}); left untouched", e.Message);
        var left = ns.Rtnl.LinkGet(tunnel);
        Assert.Equal((index, (string?)null), (left.Index, left.Alias));
        Assert.Empty(ns.Rtnl.AddrList(index, 2));
        Assert.DoesNotContain(ns.Rtnl.RouteList(2), r => r.Protocol == RouteProtocols.Kraud);
    }

    private static void RouteProtocolsOf(TestNetns ns, int index, out Dictionary<string, byte> protocols) =>
        protocols = ns.Rtnl.RouteList(10, 0).Where(r => r.OutputIndex == index && r.Destination.PrefixLength == 48)
            .ToDictionary(r => r.Destination.ToString(), r => r.Protocol);
}
