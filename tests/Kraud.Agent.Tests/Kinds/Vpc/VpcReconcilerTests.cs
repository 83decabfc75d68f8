using System.Text.Json;
using Kraud.Agent.Kinds.Vpc;
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
}
