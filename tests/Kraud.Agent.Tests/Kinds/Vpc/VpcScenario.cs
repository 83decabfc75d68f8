using Kraud.Agent.Kinds.Vpc;
using Kraud.Net.Rtnl;
using Kraud.Net.WireGuard;

namespace Kraud.Agent.Tests.Kinds.Vpc;

/// <summary>
/// The two-host VPC acceptance scenario, shared by the userspace run here and the kernel run in the lane:
/// ping across, endpoint and allowed-IP changes keep the session, removed peers and routes go, delete cleans up.
/// </summary>
public static class VpcScenario
{
    public static VpcSpec Spec(string iface, int port, string address, params VpcPeerSpec[] peers) => new()
    {
        Interface = iface, ListenPort = port, Mtu = 1420, Addresses = [address], Peers = [.. peers],
    };

    public static async Task RunAsync(TwoHosts hosts, WgBackendKind kind)
    {
        using var recA = new VpcReconciler(hosts.A.Ns, kind);
        using var recB = new VpcReconciler(hosts.B.Ns, kind);

        // First pass without peers: each host makes its key and reports the public half.
        var obsA = await recA.ReconcileAsync(Spec(hosts.IfA, 51820, "fd42:1::1/64"), hosts.StateA, "vpc-a");
        var obsB = await recB.ReconcileAsync(Spec(hosts.IfB, 51821, "fd42:1::2/64"), hosts.StateB, "vpc-b");
        string pubA = (string)obsA["publicKey"]!, pubB = (string)obsB["publicKey"]!;
        Assert.Equal(kind == WgBackendKind.Kernel ? "kernel" : "userspace", (string?)obsA["backend"]);
        string keyFile = VpcKeyStore.KeyPath(hosts.StateA, hosts.IfA);
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(keyFile));
        Assert.Equal(WgKey.Parse(File.ReadAllText(keyFile).Trim()).PublicKey().ToString(), pubA);

        string spare = WgKey.GeneratePrivate().PublicKey().ToString();
        var peerB = new VpcPeerSpec { PublicKey = pubB, Endpoint = "[fd00:99::2]:51821", AllowedIps = ["fd42:1::2/128"] };
        var peerSpare = new VpcPeerSpec { PublicKey = spare, AllowedIps = ["fd42:1::3/128"] };
        var specA = Spec(hosts.IfA, 51820, "fd42:1::1/64", peerB, peerSpare) with { Routes = [new VpcRouteSpec { Destination = "fd42:2::/48" }] };
        var specB = Spec(hosts.IfB, 51821, "fd42:1::2/64",
            new VpcPeerSpec { PublicKey = pubA, Endpoint = "[fd00:99::1]:51820", AllowedIps = ["fd42:1::1/128"], PersistentKeepalive = 25 });
        obsA = await recA.ReconcileAsync(specA, hosts.StateA, "vpc-a");
        await recB.ReconcileAsync(specB, hosts.StateB, "vpc-b");
        Assert.Equal(pubA, (string?)obsA["publicKey"]); // the key was kept, not remade
        Assert.Equal(2, (int)obsA["peerCount"]!);
        Assert.Equal(2, Device(hosts.A, hosts.IfA, kind).Peers.Count);
        Assert.Equal(["fd42:1::1/64"], obsA["addresses"]!.AsArray().Select(a => (string)a!));
        Assert.Equal(1420, (int)obsA["mtu"]!);
        Assert.Equal(51820, (int)obsA["listenPort"]!);
        // In the Vpc's VRF, not in the main table.
        Assert.Equal((string)obsA["vrf"]!["name"]!, Kraud.Agent.Kinds.VpcDomain.VrfName("vpc-a"));
        Assert.Contains($"fd42:2::/48 dev {hosts.IfA} proto 75", hosts.A.Exec("ip", "-6", "route", "show", "vrf", Kraud.Agent.Kinds.VpcDomain.VrfName("vpc-a"), "fd42:2::/48"));
        Assert.Equal("", hosts.A.Exec("ip", "-6", "route", "show", "fd42:2::/48"));
        Assert.Equal(hosts.A.Rtnl.LinkGet(Kraud.Agent.Kinds.VpcDomain.VrfName("vpc-a")).Index, hosts.A.Rtnl.LinkGet(hosts.IfA).MasterIndex);

        await TwoHosts.PingAsync(hosts.A, "fd42:1::2", TimeSpan.FromSeconds(30), Kraud.Agent.Kinds.VpcDomain.VrfName("vpc-a"));
        var handshake = Handshake(hosts.A, hosts.IfA, kind, pubB);
        Assert.NotNull(handshake);

        // Idempotent: the same spec again reports the same and leaves the device as the spec says. (Every reconcile
        // compares the whole device: an endpoint WireGuard roamed to, B answering from another of its addresses, is put
        // back to the spec's, in place, the session kept.)
        var again = await recA.ReconcileAsync(specA, hosts.StateA, "vpc-a");
        Assert.Equal(obsA.ToJsonString(), again.ToJsonString());
        var keyA = VpcKeyStore.LoadOrCreate(hosts.StateA, hosts.IfA);
        Assert.True(VpcReconciler.Wanted(specA).Compare(Device(hosts.A, hosts.IfA, kind), keyA).Matches);

        // A new endpoint for B, updated in place: the session (and its handshake) stays.
        specA = specA with { Peers = [peerB with { Endpoint = "[fd00:99::22]:51821" }, peerSpare] };
        obsA = await recA.ReconcileAsync(specA, hosts.StateA, "vpc-a");
        Assert.Equal("[fd00:99::22]:51821", Peer(hosts.A, hosts.IfA, kind, pubB).Endpoint?.ToString());
        await TwoHosts.PingAsync(hosts.A, "fd42:1::2", TimeSpan.FromSeconds(10), Kraud.Agent.Kinds.VpcDomain.VrfName("vpc-a"));
        Assert.Equal(handshake, Handshake(hosts.A, hosts.IfA, kind, pubB));

        // More allowed IPs for B: replaced in place, session kept.
        specA = specA with { Peers = [peerB with { Endpoint = "[fd00:99::22]:51821", AllowedIps = ["fd42:1::2/128", "fd42:1::20/128"] }, peerSpare] };
        obsA = await recA.ReconcileAsync(specA, hosts.StateA, "vpc-a");
        Assert.Equal(["fd42:1::2/128", "fd42:1::20/128"], Peer(hosts.A, hosts.IfA, kind, pubB).AllowedIps.Select(a => a.ToString()).Order());
        await TwoHosts.PingAsync(hosts.A, "fd42:1::2", TimeSpan.FromSeconds(10), Kraud.Agent.Kinds.VpcDomain.VrfName("vpc-a"));
        Assert.Equal(handshake, Handshake(hosts.A, hosts.IfA, kind, pubB));

        // The spare peer and the route leave the spec: both go, B stays.
        specA = specA with { Peers = [specA.Peers[0]], Routes = [] };
        obsA = await recA.ReconcileAsync(specA, hosts.StateA, "vpc-a");
        Assert.Equal([pubB], Device(hosts.A, hosts.IfA, kind).Peers.Select(p => p.PublicKey.ToString()));
        Assert.Equal(1, (int)obsA["peerCount"]!);
        Assert.DoesNotContain(hosts.A.Rtnl.RouteList(10, 0), r => r.Protocol == RouteProtocols.Kraud);
        await TwoHosts.PingAsync(hosts.A, "fd42:1::2", TimeSpan.FromSeconds(10), Kraud.Agent.Kinds.VpcDomain.VrfName("vpc-a"));

        // Delete: no link, address or route of ours is left behind.
        await recA.DeleteOwnedAsync("vpc-a", hosts.IfA);
        await recB.DeleteOwnedAsync("vpc-b", hosts.IfB);
        foreach (var (ns, name) in new[] { (hosts.A, hosts.IfA), (hosts.B, hosts.IfB) })
        {
            Assert.Null(ns.Rtnl.LinkFind(name));
            Assert.DoesNotContain(ns.Rtnl.LinkList(), l => l.Kind == "vrf");
            Assert.DoesNotContain(ns.Rtnl.AddrList(), a => a.Prefix.Address.ToString().StartsWith("fd42:", StringComparison.Ordinal));
            Assert.DoesNotContain(ns.Rtnl.RouteList(10, 0), r => r.Destination.Address.ToString().StartsWith("fd42:", StringComparison.Ordinal));
            Assert.False(File.Exists(UserspaceWireGuard.SocketPath(name)));
        }
    }

    // The status reports a peer count only (a Vpc may have thousands of peers): the peers are read from the device.
    private static WgDevice Device(TestNetns ns, string iface, WgBackendKind kind)
    {
        using var wg = WireGuardClient.Open(ns.Ns, kind);
        return wg.GetDevice(iface);
    }

    private static WgPeer Peer(TestNetns ns, string iface, WgBackendKind kind, string key) =>
        Device(ns, iface, kind).Peers.Single(p => p.PublicKey == WgKey.Parse(key));

    private static DateTimeOffset? Handshake(TestNetns ns, string iface, WgBackendKind kind, string peer)
    {
        using var wg = WireGuardClient.Open(ns.Ns, kind);
        return wg.GetDevice(iface).Peers.Single(p => p.PublicKey == WgKey.Parse(peer)).LastHandshake;
    }
}
