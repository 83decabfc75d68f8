using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;
using Kraud.Net.Netlink;

namespace Kraud.Net.Rtnl;

public sealed partial class RtNetlink
{
    /// <summary>Adds or replaces a route (idempotent upsert). The destination is sent as given: host bits are an error.</summary>
    public void RouteReplace(Route route) =>
        Do(RouteMessage(Rt.RTM_NEWROUTE, Nl.F_CREATE | Nl.F_REPLACE, route, deleting: false), $"replace route {Describe(route)}");

    /// <summary>Adds a route (EEXIST when present).</summary>
    public void RouteAdd(Route route) =>
        Do(RouteMessage(Rt.RTM_NEWROUTE, Nl.F_CREATE | Nl.F_EXCL, route, deleting: false), $"add route {Describe(route)}");

    public void RouteDel(Route route) =>
        Do(RouteMessage(Rt.RTM_DELROUTE, 0, route, deleting: true), $"delete route {Describe(route)}");

    private static string Describe(Route r) =>
        $"{r.Destination}{(r.Gateway is null ? "" : $" via {r.Gateway}")}{(r.OutputIndex is { } i ? $" dev #{i}" : "")} table {r.Table}";

    private static NetlinkMessageBuilder RouteMessage(ushort type, ushort flags, Route route, bool deleting)
    {
        var b = new NetlinkMessageBuilder(type, flags);
        var h = b.Reserve(Rt.RtMsgSize);
        h[0] = route.Destination.Family;
        h[1] = (byte)route.Destination.PrefixLength;
        h[4] = route.Table < 256 ? (byte)route.Table : (byte)0;
        h[5] = deleting ? (byte)0 : route.Protocol;
        h[6] = deleting ? Rt.RT_SCOPE_NOWHERE
            : route.Scope != 0 ? route.Scope
            : !route.Destination.IsIPv6 && route.Gateway is null ? Rt.RT_SCOPE_LINK : Rt.RT_SCOPE_UNIVERSE;
        h[7] = route.Type;
        b.AddU32(Rt.RTA_TABLE, route.Table);
        b.AddAddress(Rt.RTA_DST, route.Destination.Address);
        if (route.OutputIndex is { } oif) b.AddU32(Rt.RTA_OIF, (uint)oif);
        if (route.Gateway is { } gw)
        {
            if (gw.AddressFamily == route.Destination.Address.AddressFamily) b.AddAddress(Rt.RTA_GATEWAY, gw);
            else
            {
                // struct rtvia: IPv4 routed through an IPv6 next hop.
                var via = b.AddAttribute(Rt.RTA_VIA, 2 + (gw.AddressFamily == AddressFamily.InterNetworkV6 ? 16 : 4));
                BinaryPrimitives.WriteUInt16LittleEndian(via, (ushort)(gw.AddressFamily == AddressFamily.InterNetworkV6 ? 10 : 2));
                gw.TryWriteBytes(via[2..], out _);
            }
        }
        if (route.Priority is { } prio) b.AddU32(Rt.RTA_PRIORITY, prio);
        if (route.PreferredSource is { } src) b.AddAddress(Rt.RTA_PREFSRC, src);
        return b;
    }

    /// <summary>Routes of one family (2 or 10), in one table (default main; 0 = every table); none when the table does not exist.</summary>
    public List<Route> RouteList(byte family, uint table = RouteTables.Main)
    {
        using var b = new NetlinkMessageBuilder(Rt.RTM_GETROUTE, Nl.F_DUMP);
        var h = b.Reserve(Rt.RtMsgSize);
        h[0] = family;
        if (table != 0) b.AddU32(Rt.RTA_TABLE, table);
        var list = new List<Route>();
        List<NetlinkMessage> replies;
        try
        {
            replies = _socket.Dump(b, $"list routes (family {family}, table {table})");
        }
        catch (NetlinkException e) when (e.Errno == Kraud.Libc.Errno.ENOENT && table != 0)
        {
            // With strict checking the kernel refuses a dump of an IPv4 table it has not made yet ("FIB table does not
            // exist"): a fresh namespace's main table, a new VRF's. No table, no routes.
            return list;
        }
        ParseRoutes(replies, table, 0, list);
        return list;
    }

    /// <summary>
    /// The IPv4 and IPv6 routes through link <paramref name="outputIndex"/>, in every table, in one dump: with strict
    /// checking (NETLINK_GET_STRICT_CHK) the kernel filters on the device itself, so the reply holds only that link's
    /// routes however many other links and tables the host has. (A kernel without strict checking sends all routes; the
    /// same filter applies here.)
    /// </summary>
    public List<Route> RoutesVia(int outputIndex)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(outputIndex);
        using var b = new NetlinkMessageBuilder(Rt.RTM_GETROUTE, Nl.F_DUMP);
        b.Reserve(Rt.RtMsgSize); // family 0: every family; no RTA_TABLE, which MPLS's strict dump would refuse
        b.AddU32(Rt.RTA_OIF, (uint)outputIndex);
        var list = new List<Route>();
        ParseRoutes(_socket.Dump(b, $"list routes via link #{outputIndex}"), 0, outputIndex, list);
        return list;
    }

    private static void ParseRoutes(List<NetlinkMessage> replies, uint table, int outputIndex, List<Route> list)
    {
        foreach (var m in replies)
        {
            if (m.Type != Rt.RTM_NEWROUTE) continue;
            var p = m.Payload.Span;
            byte fam = p[0], dstLen = p[1];
            if (fam is not (2 or 10)) continue; // a dump of every family also has multicast (ipmr) and MPLS routes
            uint rtable = p[4];
            IPAddress? dst = null, gw = null, prefsrc = null;
            int? oif = null;
            uint? prio = null;
            var attrs = m.Attributes(Rt.RtMsgSize);
            while (attrs.Next(out ushort type, out var value))
            {
                switch (type)
                {
                    case Rt.RTA_DST: dst = new IPAddress(value); break;
                    case Rt.RTA_OIF: oif = (int)Nla.U32(value); break;
                    case Rt.RTA_GATEWAY: gw = new IPAddress(value); break;
                    case Rt.RTA_VIA when value.Length > 2: gw = new IPAddress(value[2..]); break;
                    case Rt.RTA_PRIORITY: prio = Nla.U32(value); break;
                    case Rt.RTA_PREFSRC: prefsrc = new IPAddress(value); break;
                    case Rt.RTA_TABLE: rtable = Nla.U32(value); break;
                }
            }
            if ((table != 0 && rtable != table) || (outputIndex != 0 && oif != outputIndex)) continue;
            dst ??= fam == 10 ? IPAddress.IPv6Any : IPAddress.Any;
            list.Add(new Route(new IpPrefix(dst, dstLen))
            {
                OutputIndex = oif, Gateway = gw, Table = rtable, Protocol = p[5], Scope = p[6], Type = p[7], Priority = prio,
                PreferredSource = prefsrc,
            });
        }
    }
}
