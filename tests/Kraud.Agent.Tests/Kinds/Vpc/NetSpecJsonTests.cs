using System.Text.Json;
using Kraud.Agent.Kinds.Overlay;
using Kraud.Agent.Kinds.Vpc;

namespace Kraud.Agent.Tests.Kinds.Vpc;

/// <summary>Unknown and wrongly typed fields are JSON errors whose path names the field (the daemon turns them into permanent failures).</summary>
public class NetSpecJsonTests
{
    [Theory]
    [InlineData("""{"interface":"k0","listenport":51820}""", "$.listenport")]
    [InlineData("""{"interface":"k0","listenPort":"51820"}""", "$.listenPort")]
    [InlineData("""{"interface":"k0","mtu":1420.5}""", "$.mtu")]
    [InlineData("""{"interface":"k0","peers":[{"publicKey":"x","allowedIPs":[]}]}""", "$.peers[0].allowedIPs")]
    [InlineData("""{"interface":"k0","routes":[{"destination":"fd42::/64","via":"fd42::1"}]}""", "$.routes[0].via")]
    [InlineData("""{"interface":"k0","addresses":"fd42::1/64"}""", "$.addresses")]
    [InlineData("""{"interface":"k0","owner":"vpc-1"}""", "$.owner")]
    public void VpcSpecRejects(string json, string path)
    {
        var e = Assert.ThrowsAny<JsonException>(() => JsonSerializer.Deserialize(json, VpcJsonContext.Default.VpcSpec));
        Assert.Equal(path, e.Path);
    }

    [Theory]
    [InlineData("""{"namespace":"n","name":"d","net4":"10.0.0.0/24","underlay":"u","local":{"ip6":"fd00::1","ip4":"10.0.0.1","ip5":"x"}}""", "$.local.ip5")]
    [InlineData("""{"namespace":"n","name":"d","net4":"10.0.0.0/24","underlay":"u","member":[]}""", "$.member")]
    [InlineData("""{"namespace":"n","name":"d","net4":"10.0.0.0/24","underlay":"u","members":{}}""", "$.members")]
    [InlineData("""{"namespace":"n","name":"d","net4":"10.0.0.0/24","underlay":"u","members":[{"ip4":10}]}""", "$.members[0].ip4")]
    public void OverlaySpecRejects(string json, string path)
    {
        var e = Assert.ThrowsAny<JsonException>(() => JsonSerializer.Deserialize(json, OverlayJsonContext.Default.OverlaySpec));
        Assert.Equal(path, e.Path);
    }
}
