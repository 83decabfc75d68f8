using Kraud.Net.Rtnl;
using Microsoft.Extensions.Logging;

namespace Kraud.Agent.Kinds.Vpc;

/// <summary>
/// The Vpc's VRF device (<see cref="VpcDomain"/>): made, marked and up; its table chosen once, at creation, and from then
/// on read from the device. A link of the VRF's name without the Vpc's mark, or that is no VRF, is someone else's.
/// </summary>
internal static class VpcVrf
{
    public static Link Ensure(RtNetlink rt, string owner, ILogger log)
    {
        string name = VpcDomain.VrfName(owner);
        if (rt.LinkFind(name) is { } existing)
        {
            if (existing.Alias != VpcDomain.OwnerAlias(owner))
                throw new ForeignObjectException($"link {name} exists and is not kraud's (no alias {VpcDomain.OwnerAlias(owner)}); left untouched");
            if (existing.Kind != "vrf")
                throw new ForeignObjectException($"link {name} carries alias {VpcDomain.OwnerAlias(owner)} but is a {existing.Kind ?? "plain"} link, not a vrf; left untouched");
            if (existing.IsUp) return existing;
            rt.LinkSetUp(existing.Index);
            return rt.LinkGet(existing.Index);
        }
        uint table = FreeTable(rt, owner);
        rt.LinkAdd(new VrfSpec(name, table));
        var link = rt.LinkGet(name);
        try
        {
            // At once, before anything else: a VRF without the mark would be refused on the next attempt.
            rt.LinkSetAlias(link.Index, VpcDomain.OwnerAlias(owner));
            rt.LinkSetUp(link.Index);
        }
        catch
        {
            rt.LinkDel(link.Index);
            throw;
        }
        log.LogInformation("created VRF {Vrf} (table {Table})", name, table);
        return rt.LinkGet(link.Index);
    }

    /// <summary>
    /// The id's preferred table, or the next one in the range that no VRF is bound to and that holds no route (someone's
    /// policy routing may use a table without a VRF). Two ids whose preferred tables collide thus get different ones.
    /// </summary>
    private static uint FreeTable(RtNetlink rt, string owner)
    {
        var taken = rt.LinkList().Where(l => l.VrfTable is not null).Select(l => l.VrfTable!.Value).ToHashSet();
        HashSet<uint>? routed = null;
        uint first = VpcDomain.PreferredTable(owner);
        for (uint i = 0; i < VpcDomain.TableCount; i++)
        {
            uint table = VpcDomain.FirstTable + ((first - VpcDomain.FirstTable + i) % VpcDomain.TableCount);
            if (taken.Contains(table)) continue;
            routed ??= rt.RouteList(2, 0).Concat(rt.RouteList(10, 0)).Select(r => r.Table).ToHashSet();
            if (!routed.Contains(table)) return table;
        }
        throw new TransientReconcileException($"no free routing table in {VpcDomain.FirstTable}..{VpcDomain.FirstTable + VpcDomain.TableCount - 1} for the VRF of {owner}");
    }

    /// <summary>
    /// The links in the VRF that are not the Vpc's own (overlay tunnels, pod taps): while there are any, the VRF stays, since
    /// deleting it would drop them, and their addresses' routes, into the host's main table.
    /// </summary>
    public static List<Link> Tenants(IEnumerable<Link> all, Link vrf, string owner) =>
        all.Where(l => l.MasterIndex == vrf.Index && l.Alias != VpcDomain.OwnerAlias(owner)).ToList();
}
