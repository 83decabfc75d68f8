using System.Net;
using System.Text.Json;
using Kraud.Agent.Kinds.Overlay;
using Kraud.Agent.Kinds.Vpc;
using Kraud.Agent.Tests.ControlPlane;
using Microsoft.Extensions.Logging.Abstractions;

namespace Kraud.Agent.Tests.Kinds;

/// <summary>
/// The agent's Vpc and Overlay kinds report a link that is not theirs as a permanent failure (status Failed, the token
/// terminated) whose message names it, and leave it as it was: the outside test's Vpc delete over a plain bridge.
/// </summary>
public class ForeignObjectKindTests
{
    private static ResourceEnvelope Envelope(string kind, string id, bool deleted, string spec) =>
        new(ResourceEnvelope.V1, kind, id, 1, deleted, JsonDocument.Parse(spec).RootElement.Clone());

    [Fact]
    public async Task AVpcDeleteOverAPlainBridgeFailsPermanentlyAndKeepsIt()
    {
        using var ns = new OrphanTestNamespace();
        using var dir = new TempDir("kraud-foreign");
        ns.AddBridge("kvpcb0", alias: null);
        int index = ns.Rtnl.LinkGet("kvpcb0").Index;
        using var kind = new VpcReconciler(ns.Ns, logger: NullLogger.Instance, publicKeys: new VpcPublicKeys(dir.Path));
        var context = new ReconcileContext("h1", dir.Path, 1, NullLogger.Instance);

        foreach (bool deleted in new[] { true, false })
        {
            var e = await Assert.ThrowsAsync<ForeignObjectException>(() =>
                kind.ReconcileAsync(Envelope("Vpc", "vpc-b", deleted, """{"interface":"kvpcb0","listenPort":51890}"""), context, default));
            Assert.Equal("link kvpcb0 exists and is not kraud's (no alias kraud:vpc:vpc-b); left untouched", e.Message);
            var left = ns.Rtnl.LinkGet("kvpcb0");
            Assert.Equal((index, "bridge", (string?)null), (left.Index, left.Kind, left.Alias));
        }
    }

    [Fact]
    public async Task AnOverlayOverALinkWithItsTunnelNameFailsPermanently()
    {
        using var ns = new OrphanTestNamespace();
        using var dir = new TempDir("kraud-foreign");
        ns.AddBridge("kou0", alias: null);
        string tunnel = OverlayReconciler.TunnelName("kou0", IPAddress.Parse("fd42:76::1"), IPAddress.Parse("fd42:76::2"));
        ns.AddBridge(tunnel, alias: null);
        var kind = new OverlayReconciler(ns.Ns, NullLogger.Instance);
        const string spec = """
            {"namespace":"n","name":"default","vpc":"vpc-b","net4":"10.76.0.0/24","underlay":"kou0",
             "local":{"ip6":"fd42:76::1","ip4":"10.76.0.1"},"members":[{"ip6":"fd42:76::2","ip4":"10.76.0.2"}]}
            """;

        var e = await Assert.ThrowsAsync<ForeignObjectException>(() =>
            kind.ReconcileAsync(Envelope("Overlay", "ov-b", false, spec), new ReconcileContext("h1", dir.Path, 1, NullLogger.Instance), default));
        Assert.Equal($"link {tunnel} exists and is not kraud's (bridge link without alias {OverlayReconciler.TunnelAlias}); left untouched", e.Message);
        Assert.Null(ns.Rtnl.LinkGet(tunnel).Alias);
    }
}
