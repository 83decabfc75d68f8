using System.Net;
using Kraud.Net.Netlink;
using Kraud.Agent.Kinds.Overlay;
using Kraud.Agent.Kinds.Vpc;
using Kraud.Net.Rtnl;
using Kraud.Net.WireGuard;
using Kraud.Libc;

namespace Kraud.Agent.Tests.Kinds.Vpc;

/// <summary>Kernel WireGuard and ip6tnl: only in the kernel lane (this machine's kernel has neither).</summary>
[Trait("lane", "kernel"), Trait("vrf", "kernel")]
public class KernelLaneTests
{
    [Fact]
    public async Task TwoHostsOnKernelWireGuard()
    {
        Assert.True(WireGuardClient.KernelAvailable(), "the lane kernel must have the wireguard module");
        using var hosts = new TwoHosts();
        await VpcScenario.RunAsync(hosts, WgBackendKind.Kernel);
    }

    [Fact]
    public async Task OverlaysCarryIPv4ThroughIp6ipAndLeaveNothingBehind()
    {
        using var hosts = new TwoHosts();
        using var recA = new VpcReconciler(hosts.A.Ns, WgBackendKind.Kernel);
        using var recB = new VpcReconciler(hosts.B.Ns, WgBackendKind.Kernel);
        string pubA = (string)(await recA.ReconcileAsync(VpcScenario.Spec(hosts.IfA, 51820, "fd42:1::1/64"), hosts.StateA, "vpc-a"))["publicKey"]!;
        string pubB = (string)(await recB.ReconcileAsync(VpcScenario.Spec(hosts.IfB, 51821, "fd42:1::2/64"), hosts.StateB, "vpc-b"))["publicKey"]!;
        await recA.ReconcileAsync(VpcScenario.Spec(hosts.IfA, 51820, "fd42:1::1/64",
            new VpcPeerSpec { PublicKey = pubB, Endpoint = "[fd00:99::2]:51821", AllowedIps = ["fd42:1::2/128"] }), hosts.StateA, "vpc-a");
        await recB.ReconcileAsync(VpcScenario.Spec(hosts.IfB, 51821, "fd42:1::2/64",
            new VpcPeerSpec { PublicKey = pubA, Endpoint = "[fd00:99::1]:51820", AllowedIps = ["fd42:1::1/128"] }), hosts.StateB, "vpc-b");
        await TwoHosts.PingAsync(hosts.A, "fd42:1::2", TimeSpan.FromSeconds(30), VpcDomain.VrfName("vpc-a"));

        OverlaySpec Overlay(string nsName, string iface, string net, string local6, string local4, string member6, string member4) => new()
        {
            Namespace = nsName, Name = "default", Vpc = iface == hosts.IfA ? "vpc-a" : "vpc-b", Net4 = net, Underlay = iface,
            Local = new OverlayEndpoint { Ip6 = local6, Ip4 = local4 },
            Members = [new OverlayEndpoint { Ip6 = member6, Ip4 = member4 }],
        };
        var ovA = new OverlayReconciler(hosts.A.Ns);
        var ovB = new OverlayReconciler(hosts.B.Ns);
        var nextA = Overlay("nextcloud", hosts.IfA, "10.20.0.0/24", "fd42:1::1", "10.20.0.1", "fd42:1::2", "10.20.0.2");
        var nextB = Overlay("nextcloud", hosts.IfB, "10.20.0.0/24", "fd42:1::2", "10.20.0.2", "fd42:1::1", "10.20.0.1");
        var obs = await ovA.ReconcileAsync("ov-next", nextA);
        await ovB.ReconcileAsync("ov-next", nextB);
        string tunnel = (string)obs["tunnels"]![0]!["name"]!;
        Assert.Contains("ip6tnl ipip6", hosts.A.Exec("ip", "-d", "link", "show", tunnel));
        await TwoHosts.PingAsync(hosts.A, "10.20.0.2", TimeSpan.FromSeconds(20), VpcDomain.VrfName("vpc-a"));
        await TwoHosts.PingAsync(hosts.B, "10.20.0.1", TimeSpan.FromSeconds(20), VpcDomain.VrfName("vpc-b"));

        // Idempotent.
        var again = await ovA.ReconcileAsync("ov-next", nextA);
        Assert.Equal(obs.ToJsonString(), again.ToJsonString());

        // A second overlay between the same hosts shares the tunnel; deleting the first keeps it for the second.
        var otherA = Overlay("other", hosts.IfA, "10.30.0.0/24", "fd42:1::1", "10.30.0.1", "fd42:1::2", "10.30.0.2");
        var otherB = Overlay("other", hosts.IfB, "10.30.0.0/24", "fd42:1::2", "10.30.0.2", "fd42:1::1", "10.30.0.1");
        Assert.Equal(tunnel, (string)(await ovA.ReconcileAsync("ov-other", otherA))["tunnels"]![0]!["name"]!);
        await ovB.ReconcileAsync("ov-other", otherB);
        await TwoHosts.PingAsync(hosts.A, "10.30.0.2", TimeSpan.FromSeconds(20), VpcDomain.VrfName("vpc-a"));
        await ovA.DeleteAsync("ov-next");
        await ovB.DeleteAsync("ov-next");
        Assert.NotNull(hosts.A.Rtnl.LinkFind(tunnel));
        Assert.DoesNotContain(hosts.A.Rtnl.RouteList(2, 0), r => r.Destination.ToString() == "10.20.0.2/32");
        Assert.DoesNotContain(hosts.A.Rtnl.AddrList(0, 2), a => a.Prefix.Address.ToString() == "10.20.0.1");
        await TwoHosts.PingAsync(hosts.A, "10.30.0.2", TimeSpan.FromSeconds(20), VpcDomain.VrfName("vpc-a"));

        await ovA.DeleteAsync("ov-other");
        await ovB.DeleteAsync("ov-other");
        await recA.DeleteOwnedAsync("vpc-a", hosts.IfA);
        await recB.DeleteOwnedAsync("vpc-b", hosts.IfB);
        foreach (var ns in new[] { hosts.A, hosts.B })
        {
            Assert.DoesNotContain(ns.Rtnl.LinkList(), l => l.Name.StartsWith(OverlayReconciler.TunnelPrefix, StringComparison.Ordinal) || l.Kind == "wireguard");
            Assert.DoesNotContain(ns.Rtnl.AddrList(), a => a.Prefix.Address.ToString().StartsWith("10.", StringComparison.Ordinal)
                || a.Prefix.Address.ToString().StartsWith("fd42:", StringComparison.Ordinal));
            Assert.DoesNotContain(ns.Rtnl.RouteList(2, 0).Concat(ns.Rtnl.RouteList(10, 0)), r => r.Protocol == RouteProtocols.Kraud);
        }
    }

    [Fact]
    public void KernelBackendSplitsLargeConfigsAndMergesSplitPeers()
    {
        using var ns = new TestNetns();
        using var wg = KernelWireGuard.Open(ns.Ns);
        wg.CreateInterface("kwsplit");
        var priv = WgKey.GeneratePrivate();
        var big = WgKey.GeneratePrivate().PublicKey();
        // Random 32-byte strings are valid Curve25519 public keys (and cost no scalar multiplication under TCG).
        var peers = Enumerable.Range(0, 2000).Select(i => new WgPeerConfig(new WgKey(System.Security.Cryptography.RandomNumberGenerator.GetBytes(32)))
        {
            AllowedIps = [new IpPrefix(new IPAddress([0xfd, 0x42, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, (byte)(i >> 8), (byte)i]), 128)],
        }).ToList();
        // One peer with more allowed IPs than fit in one message: continued in the next.
        peers.Add(new WgPeerConfig(big)
        {
            Endpoint = IPEndPoint.Parse("[fd00::9]:51820"),
            AllowedIps = Enumerable.Range(0, 1500).Select(i => new IpPrefix(new IPAddress([10, 99, (byte)(i >> 8), (byte)i]), 32)).ToList(),
        });
        wg.ConfigureDevice("kwsplit", new WgConfig { PrivateKey = priv, ListenPort = 40000, Peers = peers });

        var dev = wg.GetDevice("kwsplit");
        Assert.Equal(priv.PublicKey(), dev.PublicKey); // derived by the kernel, equal to ours
        Assert.Equal(2001, dev.Peers.Count);
        Assert.Equal(2001, dev.Peers.Select(p => p.PublicKey).Distinct().Count());
        var merged = dev.Peers.Single(p => p.PublicKey == big);
        Assert.Equal(1500, merged.AllowedIps.Count);
        Assert.Equal(IPEndPoint.Parse("[fd00::9]:51820"), merged.Endpoint);
        Assert.Equal(2001, ns.Exec("wg", "show", "kwsplit", "peers").Split('\n', StringSplitOptions.RemoveEmptyEntries).Length);

        // Remove half by per-peer REMOVE_ME; the rest stay.
        wg.ConfigureDevice("kwsplit", new WgConfig { Peers = peers.Take(1000).Select(p => new WgPeerConfig(p.PublicKey) { Remove = true }).ToList() });
        Assert.Equal(1001, wg.GetDevice("kwsplit").Peers.Count);

        var missing = Assert.Throws<NetlinkException>(() => wg.GetDevice("kwnone"));
        Assert.Equal(Errno.ENODEV, missing.Errno);
        Assert.Contains("kwnone", missing.Message);
    }

    /// <summary>
    /// A Vpc with 10,000 peers (one with more allowed IPs than a dump message holds), reconciled from its envelope as the
    /// engine does: an unchanged reconcile writes nothing, yet compares the whole device, so one peer's allowed IP changed
    /// behind the agent's back is put back by the next reconcile of the same spec; so are an endpoint, a keepalive, a
    /// removed peer and an added one.
    /// </summary>
    [Fact]
    public async Task AnUnchangedVpcWithTenThousandPeersIsRepairedWhenAPeerChangesBehindItsBack()
    {
        using var ns = new TestNetns("kbig");
        string state = Directory.CreateTempSubdirectory("kraud-vpc-big").FullName;
        try
        {
            // Random 32-byte strings are valid Curve25519 public keys (and cost no scalar multiplication under TCG).
            var peers = Enumerable.Range(0, 10000).Select(i => new VpcPeerSpec
            {
                PublicKey = new WgKey(System.Security.Cryptography.RandomNumberGenerator.GetBytes(32)).ToString(),
                AllowedIps = [$"fd42:{i >> 16:x}:{i & 0xffff:x}::1/128"],
            }).ToList();
            peers[1] = peers[1] with
            {
                Endpoint = "[fd00::9]:51820", PersistentKeepalive = 25,
                AllowedIps = Enumerable.Range(0, 1500).Select(i => $"10.99.{i >> 8}.{i & 255}/32").ToList(),
            };
            var spec = new VpcSpec { Interface = "kbig0", ListenPort = 51830, Addresses = ["fd42:ff::1/64"], Peers = peers };
            var envelope = new ResourceEnvelope(ResourceEnvelope.V1, ResourceKinds.Vpc, "vpc-big", 1, false,
                System.Text.Json.JsonSerializer.SerializeToElement(spec, VpcJsonContext.Default.VpcSpec));
            var log = new CapturingLogger();
            var context = new ReconcileContext("h1", state, 1, log);
            using var rec = new VpcReconciler(ns.Ns, WgBackendKind.Kernel, log);
            var observed = (await rec.ReconcileAsync(envelope, context, default))!;
            Assert.Equal(10000, (int)observed["peerCount"]!);
            using var wg = KernelWireGuard.Open(ns.Ns);
            var key = VpcKeyStore.LoadOrCreate(state, "kbig0");
            var wanted = VpcReconciler.Wanted(spec);
            Assert.True(wg.Compare("kbig0", key, wanted).Matches);
            Assert.Equal(1500, wg.GetDevice("kbig0").Peers.Single(p => p.PublicKey == WgKey.Parse(peers[1].PublicKey)).AllowedIps.Count);
            int Configured() => log.Lines.Count(l => l.Message.StartsWith("configured kbig0", StringComparison.Ordinal));
            Assert.Equal(1, Configured());

            // Unchanged: nothing written.
            Assert.Equal(observed.ToJsonString(), (await rec.ReconcileAsync(envelope, context, default))!.ToJsonString());
            Assert.Equal(1, Configured());

            // One peer's allowed IP, behind the agent's back.
            ns.Exec("wg", "set", "kbig0", "peer", peers[5000].PublicKey, "allowed-ips", "fd99::1/128");
            Assert.False(wg.Compare("kbig0", key, wanted).Matches);
            await rec.ReconcileAsync(envelope, context, default);
            Assert.Equal(2, Configured());
            Assert.Equal(["fd42:0:1388::1/128"], wg.GetDevice("kbig0").Peers.Single(p => p.PublicKey == WgKey.Parse(peers[5000].PublicKey)).AllowedIps.Select(a => a.ToString()));
            Assert.True(wg.Compare("kbig0", key, wanted).Matches);

            // An endpoint, a keepalive, a peer removed, a peer added.
            string stranger = WgKey.GeneratePrivate().PublicKey().ToString();
            ns.Exec("wg", "set", "kbig0", "peer", peers[1].PublicKey, "endpoint", "[fd00::8]:1", "persistent-keepalive", "5",
                "peer", peers[9999].PublicKey, "remove", "peer", stranger, "allowed-ips", "fd98::1/128");
            Assert.False(wg.Compare("kbig0", key, wanted).Matches);
            await rec.ReconcileAsync(envelope, context, default);
            Assert.Contains("configured kbig0: 3 peer change(s)", log.Text);
            var device = wg.GetDevice("kbig0");
            var one = device.Peers.Single(p => p.PublicKey == WgKey.Parse(peers[1].PublicKey));
            Assert.Equal((IPEndPoint.Parse("[fd00::9]:51820"), 25, 1500), (one.Endpoint, one.PersistentKeepaliveSeconds, one.AllowedIps.Count));
            Assert.Contains(device.Peers, p => p.PublicKey == WgKey.Parse(peers[9999].PublicKey));
            Assert.DoesNotContain(device.Peers, p => p.PublicKey == WgKey.Parse(stranger));
            Assert.True(wg.Compare("kbig0", key, wanted).Matches);
            await rec.DeleteOwnedAsync("vpc-big", "kbig0");
        }
        finally
        {
            Directory.Delete(state, true);
        }
    }

    [Fact]
    public void Ip6tnlDuplicateTupleIsEexist()
    {
        using var ns = new TestNetns();
        var a = IPAddress.Parse("fd00::1");
        var b = IPAddress.Parse("fd00::2");
        ns.Rtnl.LinkAdd(new Ip6TnlSpec("t6a", a, b));
        var link = ns.Rtnl.LinkGet("t6a");
        Assert.Equal("ip6tnl", link.Kind);
        Assert.Contains("ipip6", ns.Exec("ip", "-d", "link", "show", "t6a"));
        var e = Assert.Throws<NetlinkException>(() => ns.Rtnl.LinkAdd(new Ip6TnlSpec("t6b", a, b)));
        Assert.Equal(Errno.EEXIST, e.Errno);
        Assert.Contains("t6b", e.Message);
    }
}

/// <summary>ip6tnl links the agent did not make (no alias <see cref="OverlayReconciler.TunnelAlias"/>): never adopted, never collected.</summary>
[Trait("lane", "kernel"), Trait("marks", "kernel"), Trait("vrf", "kernel")]
public class ForeignTunnelLaneTests
{
    [Fact]
    public async Task AnIp6tnlWithoutTheMarkIsNeitherAdoptedNorCollected()
    {
        using var ns = new TestNetns("kft");
        ns.Exec("ip", "link", "add", "kfu0", "type", "dummy");
        ns.Rtnl.LinkSetUp("kfu0");
        ns.Exec("ip", "-6", "addr", "add", "fd42:75::1/64", "dev", "kfu0", "nodad");
        // The Vpc's VRF, as the Vpc kind makes it (name, mark), with the underlay in it.
        string vrf = VpcDomain.VrfName("vpc-f");
        ns.Rtnl.LinkAdd(new VrfSpec(vrf, VpcDomain.FirstTable));
        ns.Rtnl.LinkSetAlias(ns.Rtnl.LinkGet(vrf).Index, VpcDomain.OwnerAlias("vpc-f"));
        ns.Rtnl.LinkSetUp(vrf);
        ns.Rtnl.LinkSetMaster(ns.Rtnl.LinkGet("kfu0").Index, ns.Rtnl.LinkGet(vrf).Index);
        var underlay = ns.Rtnl.LinkGet("kfu0");
        var local6 = IPAddress.Parse("fd42:75::1");
        OverlaySpec Spec(string member6, string member4) => new()
        {
            Namespace = "n", Name = "default", Vpc = "vpc-f", Net4 = "10.75.0.0/24", Underlay = "kfu0",
            Local = new OverlayEndpoint { Ip6 = local6.ToString(), Ip4 = "10.75.0.1" },
            Members = [new OverlayEndpoint { Ip6 = member6, Ip4 = member4 }],
        };
        // Someone else's tunnel with exactly the name the agent would give its tunnel to fd42:75::2, and one more
        // whose name merely starts like the agent's tunnels.
        string clash = OverlayReconciler.TunnelName("kfu0", local6, IPAddress.Parse("fd42:75::2"));
        ns.Rtnl.LinkAdd(new Ip6TnlSpec(clash, local6, IPAddress.Parse("fd42:75::2")) { UnderlayIndex = underlay.Index });
        ns.Rtnl.LinkAdd(new Ip6TnlSpec(OverlayReconciler.TunnelPrefix + "theirs", local6, IPAddress.Parse("fd42:75::9")) { UnderlayIndex = underlay.Index });
        int clashIndex = ns.Rtnl.LinkGet(clash).Index, theirsIndex = ns.Rtnl.LinkGet(OverlayReconciler.TunnelPrefix + "theirs").Index;
        var rec = new OverlayReconciler(ns.Ns);

        var e = await Assert.ThrowsAsync<ForeignObjectException>(() => rec.ReconcileAsync("ov-f2", Spec("fd42:75::2", "10.75.0.2")));
        Assert.Equal($"link {clash} exists and is not kraud's (ip6tnl link without alias {OverlayReconciler.TunnelAlias}); left untouched", e.Message);
        Assert.Empty(ns.Rtnl.AddrList(clashIndex, 2));
        Assert.DoesNotContain(ns.Rtnl.RouteList(2, 0), r => r.Protocol == RouteProtocols.Kraud);

        // An overlay to another member makes (and marks) its own tunnel; its delete collects that one only.
        var obs = await rec.ReconcileAsync("ov-f3", Spec("fd42:75::3", "10.75.0.3"));
        string ours = (string)obs["tunnels"]![0]!["name"]!;
        Assert.Equal(OverlayReconciler.TunnelAlias, ns.Rtnl.LinkGet(ours).Alias);
        Assert.Equal(1, await rec.DeleteAsync("ov-f3"));
        Assert.Null(ns.Rtnl.LinkFind(ours));
        Assert.Equal(clashIndex, ns.Rtnl.LinkGet(clash).Index);
        Assert.Equal(theirsIndex, ns.Rtnl.LinkGet(OverlayReconciler.TunnelPrefix + "theirs").Index);
    }

    [Fact]
    public async Task AnUnmarkedTunnelOfAnEarlierAgentThatCarriesKraudRoutesIsMarkedAndCollected()
    {
        using var ns = new TestNetns("kft");
        ns.Exec("ip", "link", "add", "kfu0", "type", "dummy");
        ns.Rtnl.LinkSetUp("kfu0");
        ns.Exec("ip", "-6", "addr", "add", "fd42:79::1/64", "dev", "kfu0", "nodad");
        var local6 = IPAddress.Parse("fd42:79::1");
        var remote6 = IPAddress.Parse("fd42:79::2");
        // What an agent before the tunnel alias left: its tunnel, unmarked, with the overlay's route (protocol 75, the id's metric).
        string tunnel = OverlayReconciler.TunnelName("kfu0", local6, remote6);
        ns.Rtnl.LinkAdd(new Ip6TnlSpec(tunnel, local6, remote6) { UnderlayIndex = ns.Rtnl.LinkGet("kfu0").Index });
        int index = ns.Rtnl.LinkGet(tunnel).Index;
        ns.Rtnl.LinkSetUp(index);
        ns.Rtnl.AddrReplace(index, IpPrefix.Parse("10.79.0.1/32"));
        ns.Rtnl.RouteReplace(new Route(IpPrefix.Parse("10.79.0.2/32"))
        {
            OutputIndex = index, PreferredSource = IPAddress.Parse("10.79.0.1"), Protocol = RouteProtocols.Kraud, Priority = OverlayReconciler.Metric("ov-old"),
        });
        var rec = new OverlayReconciler(ns.Ns);

        Assert.Equal(1, await rec.DeleteAsync("ov-old"));
        Assert.Null(ns.Rtnl.LinkFind(tunnel));
    }
}
