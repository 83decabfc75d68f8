using System.Net;
using System.Security.Cryptography;
using System.Text;
using Kraud.Libc;
using Kraud.Net.Rtnl;
using Kraud.Net.Sysctl;

namespace Kraud.Agent.Kinds.Pod;

/// <summary>
/// The pod's persistent tap: its name and MAC derived from the pod id, the mark `kraud:pod:&lt;id&gt;` as its alias,
/// up, the host side's transit addresses (cradle v2), and routes of the pod's /128 and /32 into it (protocol
/// kraud). A pod in a Vpc has its tap in that Vpc's VRF (<see cref="VpcDomain"/>) and its routes in the VRF's table. Only a tap that carries the pod's mark is changed or removed; a link of the name without it is
/// someone else's (<see cref="ForeignObjectException"/>) and left as it is.
/// </summary>
public sealed class PodTap(NetNs? ns = null)
{
    public static readonly IpPrefix Transit6 = IpPrefix.Parse("fdee:face::1/128"), Transit4 = IpPrefix.Parse("169.254.1.1/32");

    /// <summary>"kp" + 10 hex of sha256(id): 12 bytes, stable, and unlike any other kind's interface names.</summary>
    public static string NameOf(string podId) => "kp" + Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(podId)))[..10];

    /// <summary>The guest's MAC: locally administered, unicast, from the id's hash.</summary>
    public static string MacOf(string podId)
    {
        var h = SHA256.HashData(Encoding.UTF8.GetBytes("mac:" + podId));
        return $"02:{h[0]:x2}:{h[1]:x2}:{h[2]:x2}:{h[3]:x2}:{h[4]:x2}";
    }

    public static string OwnerAlias(string podId) => "kraud:pod:" + podId;

    /// <summary>Creates or converges the tap, in the VRF of Vpc <paramref name="vpc"/> when one is named; returns its name.</summary>
    public string Ensure(string podId, IPAddress? ip6, IPAddress? ip4, string? vpc = null)
    {
        string name = NameOf(podId);
        using var rt = RtNetlink.Open(ns);
        var vrf = vpc is null ? null : VpcDomain.Require(rt, vpc, "spec.network.vpc");
        var link = rt.LinkFind(name);
        if (link is not null) CheckOurs(link, podId);
        else
        {
            try { TunTap.CreatePersistent(name, TapFlags.VnetHeader, ns: ns); }
            catch (LibcException e) when (e.Errno == Errno.EEXIST)
            {
                throw new ForeignObjectException($"link {name} exists and is not kraud's (no alias {OwnerAlias(podId)}); left untouched", "id");
            }
            link = rt.LinkGet(name);
            try { rt.LinkSetAlias(link.Index, OwnerAlias(podId)); }
            catch
            {
                rt.LinkDel(link.Index);
                throw;
            }
            link = rt.LinkGet(name);
        }
        // Into the VRF (or out of another one) before addresses and routes: enslaving cycles the link.
        if (link.MasterIndex != (vrf?.Index ?? 0))
        {
            rt.LinkSetMaster(link.Index, vrf?.Index ?? 0);
            link = rt.LinkGet(link.Index);
        }
        if (!link.IsUp) rt.LinkSetUp(link.Index);
        if (vrf is not null) NetSysctl.Ensure(ns, [.. VpcDomain.TenantIpv4(name), .. VpcDomain.TenantIpv6(name)]);

        var want = new List<IpPrefix> { Transit6, Transit4 };
        var have = rt.AddrList(link.Index).Where(a => a.Scope == 0).ToList();
        foreach (var a in have)
            if (!want.Any(w => w.Address.Equals(a.Prefix.Address) && w.PrefixLength == a.Prefix.PrefixLength)) rt.AddrDel(link.Index, a.Prefix);
        foreach (var w in want)
            if (!have.Any(a => w.Address.Equals(a.Prefix.Address) && w.PrefixLength == a.Prefix.PrefixLength))
                rt.AddrReplace(link.Index, w, w.IsIPv6 ? AddressFlags.NoDad : null);

        var routes = new List<IpPrefix>();
        if (ip6 is not null) routes.Add(new IpPrefix(ip6, 128));
        if (ip4 is not null) routes.Add(new IpPrefix(ip4, 32));
        ConvergeRoutes(rt, link.Index, vrf?.VrfTable ?? RouteTables.Main, routes);
        return name;
    }

    /// <summary>Removes the pod's tap (its routes go with it). Nothing there is fine; a foreign link of the name is refused.</summary>
    public bool Remove(string podId)
    {
        string name = NameOf(podId);
        using var rt = RtNetlink.Open(ns);
        if (rt.LinkFind(name) is not { } link) return false;
        CheckOurs(link, podId);
        rt.LinkDel(link.Index);
        return true;
    }

    /// <summary>Throws <see cref="ForeignObjectException"/> when a link of the pod's tap name exists without the pod's mark.</summary>
    public void CheckNotForeign(string podId)
    {
        using var rt = RtNetlink.Open(ns);
        if (rt.LinkFind(NameOf(podId)) is { } link) CheckOurs(link, podId);
    }

    /// <summary>What the host has of the tap: null when it is not there.</summary>
    public (string Name, bool Up, List<string> Routes)? Observe(string podId)
    {
        string name = NameOf(podId);
        using var rt = RtNetlink.Open(ns);
        if (rt.LinkFind(name) is not { } link || link.Alias != OwnerAlias(podId)) return null;
        var routes = rt.RouteList(10, 0).Concat(rt.RouteList(2, 0))
            .Where(r => r.OutputIndex == link.Index && r.Protocol == RouteProtocols.Kraud).Select(r => r.Destination.ToString()).ToList();
        return (name, link.IsUp, routes);
    }

    private static void CheckOurs(Link link, string podId)
    {
        if (link.Alias != OwnerAlias(podId))
            throw new ForeignObjectException($"link {link.Name} exists and is not kraud's (no alias {OwnerAlias(podId)}); left untouched", "id");
        if (link.Kind != "tun")
            throw new ForeignObjectException($"link {link.Name} carries alias {OwnerAlias(podId)} but is a {link.Kind ?? "plain"} link, not a tap; left untouched", "id");
    }

    private static void ConvergeRoutes(RtNetlink rt, int index, uint table, List<IpPrefix> wanted)
    {
        // Ours in another table (the pod moved into or out of a Vpc) go.
        foreach (var r in rt.RouteList(10, 0).Concat(rt.RouteList(2, 0)))
            if (r.OutputIndex == index && r.Protocol == RouteProtocols.Kraud && r.Table != table) rt.RouteDel(r);
        var all = rt.RouteList(10, table).Concat(rt.RouteList(2, table)).ToList();
        var have = all.Where(r => r.OutputIndex == index && r.Protocol == RouteProtocols.Kraud).ToList();
        static uint OurMetric(IpPrefix w) => w.IsIPv6 ? 1024u : 0u;
        foreach (var w in wanted)
            if (!have.Any(r => r.Destination == w)
                && all.FirstOrDefault(r => r.Destination == w && r.Protocol != RouteProtocols.Kraud && (r.Priority ?? 0) == OurMetric(w)) is { } theirs)
                throw new ForeignObjectException($"route {w} exists and is not kraud's (protocol {theirs.Protocol}, not {RouteProtocols.Kraud}); left untouched", "spec.network");
        foreach (var r in have)
            if (!wanted.Contains(r.Destination)) rt.RouteDel(r);
        foreach (var w in wanted)
            if (!have.Any(r => r.Destination == w)) rt.RouteAdd(new Route(w) { OutputIndex = index, Table = table, Protocol = RouteProtocols.Kraud });
    }
}
