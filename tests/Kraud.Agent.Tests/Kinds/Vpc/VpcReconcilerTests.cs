using System.Net;
using System.Text.Json;
using Kraud.Agent.Kinds.Vpc;
using Kraud.Net.Rtnl;
using Kraud.Net.WireGuard;

namespace Kraud.Agent.Tests.Kinds.Vpc;

public class VpcReconcilerTests
{
    // Kernel lane: every Vpc has its VRF, and this machine's kernel has no vrf module (`ip link add x type vrf` fails).
    [Fact, Trait("lane", "kernel"), Trait("vrf", "kernel")]
    public async Task TwoHostsOnUserspaceWireGuard()
    {
        using var hosts = new TwoHosts();
        await VpcScenario.RunAsync(hosts, WgBackendKind.Userspace);
    }

    [Fact]
    public void ContractExampleParsesAndValidates()
    {
        const string json = """
            { "interface": "kvpc0", "listenPort": 51820, "mtu": 1420,
              "addresses": ["fd42:1a8::1/64"],
              "peers": [ { "publicKey": "hSDwCYkwp1R0i33ctD73Wg2/Og0mOBr066SpjqqbTmo=", "endpoint": "[2001:db8::2]:51820",
                           "allowedIps": ["fd42:1a8::2/128"], "persistentKeepalive": 25 } ],
              "routes": [ { "destination": "fd42:1a8:2::/48" } ] }
            """;
        var spec = JsonSerializer.Deserialize(json, VpcJsonContext.Default.VpcSpec)!;
        spec.Validate();
        Assert.Equal(("kvpc0", 51820, 1420), (spec.Interface, spec.ListenPort!.Value, spec.Mtu!.Value));
        Assert.Equal(25, spec.Peers[0].PersistentKeepalive);
        Assert.Equal("fd42:1a8:2::/48", spec.Routes[0].Destination);
    }

    [Theory]
    [InlineData("""{"interface":""}""", "interface")]
    [InlineData("""{"interface":"much-too-long-name0"}""", "interface")]
    [InlineData("""{"interface":"k0","listenPort":70000}""", "listenPort")]
    [InlineData("""{"interface":"k0","mtu":1000}""", "mtu")]
    [InlineData("""{"interface":"k0","addresses":["fd42::1/64","fd42::1/200"]}""", "addresses[1]")]
    [InlineData("""{"interface":"k0","peers":[{"publicKey":"nope"}]}""", "peers[0].publicKey")]
    [InlineData("""{"interface":"k0","peers":[{"publicKey":"hSDwCYkwp1R0i33ctD73Wg2/Og0mOBr066SpjqqbTmo=","endpoint":"2001:db8::2"}]}""", "peers[0].endpoint")]
    [InlineData("""{"interface":"k0","peers":[{"publicKey":"hSDwCYkwp1R0i33ctD73Wg2/Og0mOBr066SpjqqbTmo=","allowedIps":["x"]}]}""", "peers[0].allowedIps[0]")]
    [InlineData("""{"interface":"k0","routes":[{"destination":"fd42::/129"}]}""", "routes[0].destination")]
    public void BadSpecNamesTheField(string json, string field)
    {
        var spec = JsonSerializer.Deserialize(json, VpcJsonContext.Default.VpcSpec)!;
        var e = Assert.Throws<PermanentReconcileException>(spec.Validate);
        Assert.Equal("spec." + field, e.Field);
        Assert.StartsWith("spec." + field + ":", e.Message);
    }

    [Fact]
    public void DiffOfAMatchingDeviceIsNothing()
    {
        var key = WgKey.GeneratePrivate();
        var peer = WgKey.GeneratePrivate().PublicKey();
        var spec = new VpcSpec
        {
            Interface = "k0", ListenPort = 1,
            Peers = [new VpcPeerSpec { PublicKey = peer.ToString(), Endpoint = "[fd00::1]:5", AllowedIps = ["fd42::7/128"] }],
        };
        var device = new WgDevice("k0", key, key.PublicKey(), 1, 0,
            [new WgPeer(peer) { Endpoint = System.Net.IPEndPoint.Parse("[fd00::1]:5"), AllowedIps = [Kraud.Net.Rtnl.IpPrefix.Parse("fd42::7/128")] }]);
        Assert.Null(VpcReconciler.Diff(spec, key, device));
        var moved = VpcReconciler.Diff(spec with { ListenPort = 2 }, key, device)!;
        Assert.Equal((2, 0), (moved.ListenPort!.Value, moved.Peers.Count));
        Assert.Null(moved.PrivateKey);
    }

    /// <summary>
    /// The compare an unchanged reconcile relies on (<see cref="WgDeviceTemplate"/>) and the diff that repairs a device
    /// agree: a device that differs from the spec in any one field differs for both, and one that matches, for neither.
    /// </summary>
    [Fact]
    public void CompareAndDiffAgreeOnEveryPeerField()
    {
        var key = WgKey.GeneratePrivate();
        var a = WgKey.GeneratePrivate().PublicKey();
        var b = WgKey.GeneratePrivate().PublicKey();
        var spec = new VpcSpec
        {
            Interface = "k0", ListenPort = 51820,
            Peers =
            [
                new VpcPeerSpec { PublicKey = a.ToString(), Endpoint = "[fd00::1]:5", AllowedIps = ["fd42::7/128", "10.1.2.3/24"], PersistentKeepalive = 25 },
                new VpcPeerSpec { PublicKey = b.ToString(), AllowedIps = ["fd42::8/128"] },
            ],
        };
        var wanted = VpcReconciler.Wanted(spec);
        static IpPrefix P(string s) => IpPrefix.Parse(s);
        WgPeer PeerA() => new(a) { Endpoint = IPEndPoint.Parse("[fd00::1]:5"), PersistentKeepaliveSeconds = 25, AllowedIps = [P("10.1.2.0/24"), P("fd42::7/128")] };
        WgPeer PeerB() => new(b) { Endpoint = IPEndPoint.Parse("[fd00::99]:7"), AllowedIps = [P("fd42::8/128")] }; // any endpoint: the spec names none
        WgDevice Device(params WgPeer[] peers) => new("k0", key, key.PublicKey(), 51820, 0, peers);

        var same = Device(PeerA(), PeerB());
        var summary = wanted.Compare(same, key);
        Assert.Equal((true, 2, 51820), (summary.Matches, summary.PeerCount, summary.ListenPort));
        Assert.Null(VpcReconciler.Diff(spec, key, same));

        var differing = new Dictionary<string, WgDevice>
        {
            ["an allowed IP moved"] = Device(PeerA() with { AllowedIps = [P("10.1.2.0/24"), P("fd42::9/128")] }, PeerB()),
            ["an allowed IP more"] = Device(PeerA(), PeerB() with { AllowedIps = [P("fd42::8/128"), P("fd42::80/128")] }),
            ["an allowed IP fewer"] = Device(PeerA() with { AllowedIps = [P("fd42::7/128")] }, PeerB()),
            ["a prefix length"] = Device(PeerA() with { AllowedIps = [P("10.1.2.0/25"), P("fd42::7/128")] }, PeerB()),
            ["an endpoint"] = Device(PeerA() with { Endpoint = IPEndPoint.Parse("[fd00::1]:6") }, PeerB()),
            ["no endpoint"] = Device(PeerA() with { Endpoint = null }, PeerB()),
            ["a keepalive"] = Device(PeerA() with { PersistentKeepaliveSeconds = 0 }, PeerB()),
            ["a preshared key"] = Device(PeerA(), PeerB() with { PresharedKey = WgKey.GeneratePrivate() }),
            ["a peer missing"] = Device(PeerA()),
            ["a peer more"] = Device(PeerA(), PeerB(), new WgPeer(WgKey.GeneratePrivate().PublicKey())),
            ["the listen port"] = Device(PeerA(), PeerB()) with { ListenPort = 51821 },
            ["the private key"] = Device(PeerA(), PeerB()) with { PrivateKey = WgKey.GeneratePrivate() },
        };
        foreach (var (what, device) in differing)
        {
            Assert.False(wanted.Compare(device, key).Matches, what);
            Assert.NotNull(VpcReconciler.Diff(spec, key, device));
        }

        // The diff of a preshared key set behind the agent's back clears it (all zeros), keeping the peer's session.
        var cleared = VpcReconciler.Diff(spec, key, differing["a preshared key"])!.Peers.Single();
        Assert.Equal((b, true, true), (cleared.PublicKey, cleared.UpdateOnly, cleared.PresharedKey!.Value.IsZero));
    }
}
