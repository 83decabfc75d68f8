using System.Net;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using Kraud.Libc;
using Kraud.Net.Rtnl;
using Kraud.Net.Sysctl;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Kraud.Agent.Kinds.Overlay;

/// <summary>
/// Converges an <see cref="OverlaySpec"/>: IPv4 from local.ip4 to each member's ip4 leaves encapsulated in
/// IPv6 (ip6tnl mode ipip6) towards the member's ip6, and the reverse is delivered locally.
///
/// Layout, chosen because the kernel allows one ip6tnl per (local, remote, link) tuple:
/// - everything in the VRF of the overlay's Vpc (<see cref="VpcDomain"/>): tunnels enslaved to it, routes in its table,
///   so two tenants with the same net4 and the same addresses coexist on one host;
/// - one tunnel per remote host and Vpc, "k6" + hash(underlay, local ip6, remote ip6), shared by the Vpc's overlays
///   that reach that host, bound to the Vpc's VRF device: the encapsulated packet is routed in the VRF's table (out of
///   the Vpc's WireGuard interface), and a received one, which the VRF hands on with the VRF as its device, matches the
///   tunnel of that VRF exactly (bound to the WireGuard interface instead, two tenants' tunnels with the same
///   addresses would be equal candidates and one tenant's packets could come out of the other's tunnel);
/// - per overlay and member a /32 route "member.ip4 dev TUNNEL src local.ip4", protocol kraud, with a metric
///   derived from the overlay's resource id: that metric tells this overlay's routes from another's, and lets a
///   delete find them from the id alone (no spec needed);
/// - local.ip4/32 on every tunnel the overlay uses, so replies are delivered and the source is right.
/// A tunnel with no kraud route left is deleted; an address no route of ours uses as source is removed.
///
/// The tunnels carry the alias <see cref="TunnelAlias"/> from their creation: only an ip6tnl link with it is the agent's
/// to configure or delete. A link with a tunnel's name without it is refused (<see cref="ForeignObjectException"/>), and
/// the garbage collection passes over it. Routes are the agent's by protocol and metric; others are never touched.
/// </summary>
public sealed class OverlayReconciler(NetNs? ns = null, ILogger? logger = null) : IReconciler
{
    public string Kind => ResourceKinds.Overlay;

    /// <summary>The work engine's entry. A delete finds the routes by the id; a spec, when it carries one, must still be valid.</summary>
    public async Task<JsonObject?> ReconcileAsync(ResourceEnvelope envelope, ReconcileContext context, CancellationToken ct)
    {
        if (!envelope.Deleted) return await ReconcileAsync(envelope.Id, envelope.ReadSpec(OverlayJsonContext.Default.OverlaySpec), ct).ConfigureAwait(false);
        envelope.ReadSpecIfAny(OverlayJsonContext.Default.OverlaySpec)?.Validate();
        int routes = await DeleteAsync(envelope.Id, ct).ConfigureAwait(false);
        return new JsonObject { ["deletedRoutes"] = routes, ["deleted"] = true };
    }

    public const string TunnelPrefix = "k6";

    /// <summary>The alias that marks a tunnel as the agent's (tunnels are shared by overlays, so it names no overlay).</summary>
    public const string TunnelAlias = "kraud:overlay-tunnel";
    private const int EncapOverhead = 40 + 8; // IPv6 header + the encapsulation-limit destination option
    private readonly ILogger _log = logger ?? NullLogger.Instance;

    /// <summary>Converges overlay resource <paramref name="id"/> on <paramref name="spec"/>.</summary>
    public Task<JsonObject> ReconcileAsync(string id, OverlaySpec spec, CancellationToken ct = default)
    {
        spec.Validate();
        return Task.Run(() => Reconcile(id, spec, ct), ct);
    }

    /// <summary>
    /// Removes overlay <paramref name="id"/>'s routes, then every tunnel and address nothing else uses. Needs no spec:
    /// the routes are found by the id's metric, so deleting what this host never had is a no-op. Returns the number
    /// of routes removed.
    /// </summary>
    public Task<int> DeleteAsync(string id, CancellationToken ct = default) => Task.Run(() =>
    {
        using var scope = _log.BeginScope(new Dictionary<string, object> { ["Kind"] = "Overlay", ["Id"] = id });
        using var rt = RtNetlink.Open(ns);
        MarkTunnelsOfEarlierVersions(rt);
        uint metric = Metric(id);
        var routes = OwnRoutes(rt, metric);
        foreach (var r in routes) rt.RouteDel(r);
        CollectGarbage(rt);
        if (OwnRoutes(rt, metric).Count is > 0 and int left)
            throw new InvalidOperationException($"{left} route(s) of overlay {id} are still there after its delete");
        return routes.Count;
    }, ct);

    /// <summary>The route metric that marks overlay <paramref name="id"/>'s routes: stable, per resource id.</summary>
    public static uint Metric(string id) => 0x4B000000u | (Hash("overlay:" + id) & 0x00FFFFFF);

    public static string TunnelName(string underlay, IPAddress local6, IPAddress remote6) =>
        TunnelPrefix + (Hash($"{underlay}|{local6}|{remote6}")).ToString("x8");

    private static uint Hash(string text)
    {
        Span<byte> digest = stackalloc byte[32];
        SHA256.HashData(Encoding.UTF8.GetBytes(text), digest);
        return BitConverter.ToUInt32(digest);
    }

    private JsonObject Reconcile(string id, OverlaySpec spec, CancellationToken ct)
    {
        using var scope = _log.BeginScope(new Dictionary<string, object> { ["Kind"] = "Overlay", ["Id"] = id });
        using var rt = RtNetlink.Open(ns);
        MarkTunnelsOfEarlierVersions(rt);
        var local6 = IPAddress.Parse(spec.Local!.Ip6);
        // Refused before anything changes: a link with one of the tunnels' names that is not the agent's tunnel.
        foreach (var member in spec.Members)
            if (rt.LinkFind(TunnelName(spec.Underlay, local6, IPAddress.Parse(member.Ip6))) is { } present && !IsOurs(present))
                throw NotOurs(present);
        var vrf = VpcDomain.Require(rt, spec.Vpc, "spec.vpc");
        uint table = vrf.VrfTable!.Value;
        var underlay = rt.LinkGet(spec.Underlay);
        if (underlay.MasterIndex != vrf.Index)
            throw new TransientReconcileException($"spec.underlay: {spec.Underlay} is not in the VRF of Vpc {spec.Vpc} ({vrf.Name}) on this host");
        var local4 = IPAddress.Parse(spec.Local.Ip4);
        var source = IpPrefix.Host(local4);
        uint metric = Metric(id);

        var wanted = new List<Route>();
        var tunnels = new JsonArray();
        foreach (var member in spec.Members)
        {
            ct.ThrowIfCancellationRequested();
            var remote6 = IPAddress.Parse(member.Ip6);
            string name = TunnelName(spec.Underlay, local6, remote6);
            var link = rt.LinkFind(name);
            if (link is null)
            {
                rt.LinkAdd(new Ip6TnlSpec(name, local6, remote6) { UnderlayIndex = vrf.Index, Mtu = Math.Max(1280, underlay.Mtu - EncapOverhead) });
                link = rt.LinkGet(name);
                try
                {
                    // At once, before anything else: a tunnel without the mark would be refused on the next attempt.
                    rt.LinkSetAlias(link.Index, TunnelAlias);
                }
                catch
                {
                    rt.LinkDel(link.Index);
                    throw;
                }
                _log.LogInformation("created tunnel {Tunnel} to {Remote}", name, remote6);
            }
            else if (!IsOurs(link))
                throw NotOurs(link);
            // Into the VRF before its address: enslaving cycles the link.
            VpcDomain.Enslave(rt, link, vrf);
            if (!link.IsUp) rt.LinkSetUp(link.Index);
            NetSysctl.Ensure(ns, VpcDomain.TenantIpv4(name));
            if (!rt.AddrList(link.Index, 2).Any(a => a.Prefix.Address.Equals(local4))) rt.AddrReplace(link.Index, source);
            wanted.Add(new Route(IpPrefix.Host(IPAddress.Parse(member.Ip4)))
            {
                OutputIndex = link.Index, PreferredSource = local4, Protocol = RouteProtocols.Kraud, Priority = metric, Table = table,
            });
            tunnels.Add((JsonNode)new JsonObject { ["name"] = name, ["ifindex"] = link.Index, ["remote"] = remote6.ToString(), ["member"] = member.Ip4 });
        }

        var have = OwnRoutes(rt, metric);
        // A route the kernel would take for the same one (destination and metric) that is not the agent's: refused, not replaced.
        var all = rt.RouteList(2, table);
        foreach (var w in wanted)
            if (all.FirstOrDefault(r => r.Destination == w.Destination && r.Priority == metric && r.Protocol != RouteProtocols.Kraud) is { } theirs)
                throw new ForeignObjectException($"route {w.Destination} exists and is not kraud's (protocol {theirs.Protocol}, not {RouteProtocols.Kraud}); left untouched");
        foreach (var r in have)
            if (!wanted.Any(w => w.Destination == r.Destination && w.OutputIndex == r.OutputIndex && w.Table == r.Table)) rt.RouteDel(r);
        foreach (var w in wanted)
            if (!have.Any(r => r.Destination == w.Destination && r.OutputIndex == w.OutputIndex && r.Table == w.Table && Equals(r.PreferredSource, w.PreferredSource)))
                rt.RouteReplace(w);
        CollectGarbage(rt);

        return new JsonObject
        {
            ["underlay"] = spec.Underlay,
            ["vrf"] = new JsonObject { ["name"] = vrf.Name, ["table"] = table },
            ["local"] = new JsonObject { ["ip6"] = local6.ToString(), ["ip4"] = local4.ToString() },
            ["metric"] = metric,
            ["tunnels"] = tunnels,
        };
    }

    /// <summary>The overlay's routes, in whichever table (its Vpc's VRF's; the main one for an agent before VRFs).</summary>
    private static List<Route> OwnRoutes(RtNetlink rt, uint metric) =>
        rt.RouteList(2, 0).Where(r => r.Protocol == RouteProtocols.Kraud && r.Priority == metric).ToList();

    /// <summary>
    /// Agents before the tunnel alias left their tunnels unmarked. Such a tunnel still carries the agent's other mark:
    /// routes of protocol <see cref="RouteProtocols.Kraud"/>, which only the agent adds. An unmarked ip6tnl named like the
    /// agent's tunnels that such a route uses is marked, so an upgrade neither refuses nor leaks it; one without such a
    /// route is someone else's.
    /// </summary>
    private void MarkTunnelsOfEarlierVersions(RtNetlink rt)
    {
        List<Route>? routes = null;
        foreach (var link in rt.LinkList())
        {
            if (link.Kind != "ip6tnl" || link.Alias is not null || !link.Name.StartsWith(TunnelPrefix, StringComparison.Ordinal)) continue;
            routes ??= rt.RouteList(2, 0).Where(r => r.Protocol == RouteProtocols.Kraud).ToList();
            if (!routes.Any(r => r.OutputIndex == link.Index)) continue;
            rt.LinkSetAlias(link.Index, TunnelAlias);
            _log.LogInformation("marked tunnel {Tunnel} of an earlier agent version ({Alias})", link.Name, TunnelAlias);
        }
    }

    private static ForeignObjectException NotOurs(Link link) =>
        new($"link {link.Name} exists and is not kraud's ({link.Kind ?? "plain"} link without alias {TunnelAlias}); left untouched");

    /// <summary>A tunnel the agent made: an ip6tnl link that carries <see cref="TunnelAlias"/>. Only those it changes or deletes.</summary>
    private static bool IsOurs(Link link) => link.Kind == "ip6tnl" && link.Alias == TunnelAlias;

    /// <summary>Deletes our tunnels no kraud route uses, and from the others every IPv4 address no kraud route on them uses as source.</summary>
    private void CollectGarbage(RtNetlink rt)
    {
        var routes = rt.RouteList(2, 0).Where(r => r.Protocol == RouteProtocols.Kraud).ToList();
        foreach (var link in rt.LinkList())
        {
            if (!IsOurs(link)) continue;
            var onLink = routes.Where(r => r.OutputIndex == link.Index).ToList();
            if (onLink.Count == 0)
            {
                rt.LinkDel(link.Index);
                _log.LogInformation("deleted unused tunnel {Tunnel}", link.Name);
                continue;
            }
            foreach (var a in rt.AddrList(link.Index, 2))
                if (!onLink.Any(r => a.Prefix.Address.Equals(r.PreferredSource))) rt.AddrDel(link.Index, a.Prefix);
        }
    }
}
