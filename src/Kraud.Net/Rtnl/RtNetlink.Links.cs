using System.Buffers.Binary;
using Kraud.Net.Netlink;
using Kraud.Libc;

namespace Kraud.Net.Rtnl;

public sealed partial class RtNetlink
{
    /// <summary>Every link in the namespace (a dump, retried when the kernel flags it inconsistent).</summary>
    public List<Link> LinkList()
    {
        using var b = IfInfo(Rt.RTM_GETLINK, Nl.F_DUMP);
        b.AddU32(Rt.IFLA_EXT_MASK, Rt.RTEXT_FILTER_SKIP_STATS);
        var links = new List<Link>();
        foreach (var m in _socket.Dump(b, "list links"))
            if (m.Type == Rt.RTM_NEWLINK) links.Add(ParseLink(m));
        return links;
    }

    /// <summary>The link called <paramref name="name"/>; throws <see cref="NetlinkException"/> (ENODEV) when there is none.</summary>
    public Link LinkGet(string name)
    {
        using var b = IfInfo(Rt.RTM_GETLINK, 0);
        b.AddString(Rt.IFLA_IFNAME, name);
        b.AddU32(Rt.IFLA_EXT_MASK, Rt.RTEXT_FILTER_SKIP_STATS);
        return SingleLink(_socket.Execute(b, $"get link \"{name}\""), name);
    }

    public Link LinkGet(int index)
    {
        using var b = IfInfo(Rt.RTM_GETLINK, 0, index);
        b.AddU32(Rt.IFLA_EXT_MASK, Rt.RTEXT_FILTER_SKIP_STATS);
        return SingleLink(_socket.Execute(b, $"get link #{index}"), $"#{index}");
    }

    /// <summary>The link, or null when it does not exist.</summary>
    public Link? LinkFind(string name)
    {
        try
        {
            return LinkGet(name);
        }
        catch (NetlinkException e) when (e.Errno == Errno.ENODEV)
        {
            return null;
        }
    }

    private static Link SingleLink(List<NetlinkMessage> replies, string what)
    {
        foreach (var m in replies)
            if (m.Type == Rt.RTM_NEWLINK) return ParseLink(m);
        throw new NetlinkException($"get link {what}", Errno.ENODEV, "no link in the reply");
    }

    /// <summary>Creates a link (NLM_F_CREATE|NLM_F_EXCL: EEXIST when the name is taken).</summary>
    public void LinkAdd(LinkSpec spec)
    {
        var b = IfInfo(Rt.RTM_NEWLINK, Nl.F_CREATE | Nl.F_EXCL);
        b.AddString(Rt.IFLA_IFNAME, spec.Name);
        if (spec.Mtu is { } mtu) b.AddU32(Rt.IFLA_MTU, (uint)mtu);
        if (spec.Group is { } group) b.AddU32(Rt.IFLA_GROUP, group);
        if (spec.Namespace is { } ns) b.AddU32(Rt.IFLA_NET_NS_FD, (uint)ns.Fd);
        int info = b.BeginNest(Rt.IFLA_LINKINFO);
        b.AddString(Rt.IFLA_INFO_KIND, spec.Kind);
        switch (spec)
        {
            case VethSpec veth:
                int data = b.BeginNest(Rt.IFLA_INFO_DATA);
                int peer = b.BeginNest(Rt.VETH_INFO_PEER);
                b.Reserve(Rt.IfInfoMsgSize); // the peer nest starts with a bare ifinfomsg
                b.AddString(Rt.IFLA_IFNAME, veth.PeerName);
                if (veth.Mtu is { } peerMtu) b.AddU32(Rt.IFLA_MTU, (uint)peerMtu);
                if (veth.Group is { } peerGroup) b.AddU32(Rt.IFLA_GROUP, peerGroup);
                if (veth.PeerNamespace is { } peerNs) b.AddU32(Rt.IFLA_NET_NS_FD, (uint)peerNs.Fd);
                b.EndNest(peer);
                b.EndNest(data);
                break;
            case VrfSpec vrf:
                int vdata = b.BeginNest(Rt.IFLA_INFO_DATA);
                b.AddU32(Rt.IFLA_VRF_TABLE, vrf.Table);
                b.EndNest(vdata);
                break;
            case Ip6TnlSpec tnl:
                int tdata = b.BeginNest(Rt.IFLA_INFO_DATA);
                b.AddU32(Rt.IFLA_IPTUN_LINK, (uint)tnl.UnderlayIndex);
                b.AddAddress(Rt.IFLA_IPTUN_LOCAL, tnl.Local);
                b.AddAddress(Rt.IFLA_IPTUN_REMOTE, tnl.Remote);
                b.AddU8(Rt.IFLA_IPTUN_TTL, tnl.HopLimit);
                b.AddU8(Rt.IFLA_IPTUN_ENCAP_LIMIT, tnl.EncapLimit);
                b.AddU32(Rt.IFLA_IPTUN_FLOWINFO, 0);
                b.AddU32(Rt.IFLA_IPTUN_FLAGS, tnl.TunnelFlags);
                b.AddU8(Rt.IFLA_IPTUN_PROTO, tnl.Protocol);
                b.EndNest(tdata);
                break;
        }
        b.EndNest(info);
        Do(b, $"add link {spec.Kind} \"{spec.Name}\"");
    }

    public void LinkSetUp(string name) => LinkSetUp(LinkGet(name).Index);
    public void LinkSetDown(string name) => LinkSetDown(LinkGet(name).Index);

    // ifi_change must name IFF_UP: a zero mask would replace every flag (and drop IFF_MULTICAST).
    public void LinkSetUp(int index) => Do(IfInfo(Rt.RTM_NEWLINK, 0, index, LinkFlags.Up, LinkFlags.Up), $"set link #{index} up");
    public void LinkSetDown(int index) => Do(IfInfo(Rt.RTM_NEWLINK, 0, index, 0, LinkFlags.Up), $"set link #{index} down");

    public void LinkSetMtu(int index, int mtu)
    {
        var b = IfInfo(Rt.RTM_NEWLINK, 0, index);
        b.AddU32(Rt.IFLA_MTU, (uint)mtu);
        Do(b, $"set link #{index} mtu {mtu}");
    }

    /// <summary>Enslaves to a bridge or a VRF; <paramref name="masterIndex"/> 0 releases.</summary>
    public void LinkSetMaster(int index, int masterIndex)
    {
        var b = IfInfo(Rt.RTM_NEWLINK, 0, index);
        b.AddU32(Rt.IFLA_MASTER, (uint)masterIndex);
        Do(b, $"set link #{index} master #{masterIndex}");
    }

    /// <summary>Moves a link into another namespace, optionally renaming it in the same step.</summary>
    public void LinkSetNsFd(int index, NetNs target, string? newName = null)
    {
        var b = IfInfo(Rt.RTM_NEWLINK, 0, index);
        b.AddU32(Rt.IFLA_NET_NS_FD, (uint)target.Fd);
        if (newName is not null) b.AddString(Rt.IFLA_IFNAME, newName);
        Do(b, $"move link #{index} to netns {target.Path}");
    }

    /// <summary>Sets the link's alias (at most 255 bytes); an empty one removes it.</summary>
    public void LinkSetAlias(int index, string alias)
    {
        if (System.Text.Encoding.UTF8.GetByteCount(alias) > 255) throw new ArgumentException("an interface alias is at most 255 bytes", nameof(alias));
        var b = IfInfo(Rt.RTM_NEWLINK, 0, index);
        // Without a terminating NUL, as iproute2 sends it: the kernel stores exactly these bytes, and none clears it.
        b.AddBytes(Rt.IFLA_IFALIAS, System.Text.Encoding.UTF8.GetBytes(alias));
        Do(b, $"set link #{index} alias \"{alias}\"");
    }

    public void LinkSetGroup(int index, uint group)
    {
        var b = IfInfo(Rt.RTM_NEWLINK, 0, index);
        b.AddU32(Rt.IFLA_GROUP, group);
        Do(b, $"set link #{index} group {group}");
    }

    public void LinkDel(string name)
    {
        var b = IfInfo(Rt.RTM_DELLINK, 0);
        b.AddString(Rt.IFLA_IFNAME, name);
        Do(b, $"delete link \"{name}\"");
    }

    public void LinkDel(int index) => Do(IfInfo(Rt.RTM_DELLINK, 0, index), $"delete link #{index}");

    /// <summary>
    /// Deletes every link in <paramref name="group"/> in one request: the kernel unregisters them in one batch,
    /// far faster than one delete per link (each of which waits for its own RCU grace period).
    /// </summary>
    public void LinkDelGroup(uint group)
    {
        if (group == 0) throw new ArgumentOutOfRangeException(nameof(group), "group 0 is the default group of every link");
        var b = IfInfo(Rt.RTM_DELLINK, 0);
        b.AddU32(Rt.IFLA_GROUP, group);
        Do(b, $"delete link group {group}");
    }

    internal static Link ParseLink(NetlinkMessage m)
    {
        var h = m.Payload.Span;
        int index = BinaryPrimitives.ReadInt32LittleEndian(h[4..]);
        uint flags = BinaryPrimitives.ReadUInt32LittleEndian(h[8..]);
        string name = "";
        string? kind = null;
        int mtu = 0, master = 0;
        uint group = 0;
        byte[]? mac = null;
        string? alias = null;
        uint? vrfTable = null;
        int? forwarding6 = null;
        var attrs = m.Attributes(Rt.IfInfoMsgSize);
        while (attrs.Next(out ushort type, out var value))
        {
            switch (type)
            {
                case Rt.IFLA_IFNAME: name = Nla.String(value); break;
                case Rt.IFLA_MTU: mtu = (int)Nla.U32(value); break;
                case Rt.IFLA_MASTER: master = (int)Nla.U32(value); break;
                case Rt.IFLA_GROUP: group = Nla.U32(value); break;
                case Rt.IFLA_ADDRESS: mac = value.ToArray(); break;
                case Rt.IFLA_IFALIAS: alias = Nla.String(value); break;
                case Rt.IFLA_LINKINFO:
                    var info = new NetlinkAttributeReader(value);
                    while (info.Next(out ushort it, out var iv))
                    {
                        if (it == Rt.IFLA_INFO_KIND) kind = Nla.String(iv);
                        else if (it == Rt.IFLA_INFO_DATA && kind == "vrf")
                        {
                            var data = new NetlinkAttributeReader(iv);
                            while (data.Next(out ushort dt, out var dv))
                                if (dt == Rt.IFLA_VRF_TABLE) vrfTable = Nla.U32(dv);
                        }
                    }
                    break;
                case Rt.IFLA_AF_SPEC:
                    forwarding6 = Ipv6ConfForwarding(value);
                    break;
            }
        }
        return new Link(index, name, kind, mtu, flags, master, group, mac)
        {
            Alias = string.IsNullOrEmpty(alias) ? null : alias, VrfTable = vrfTable, Ipv6Forwarding = forwarding6,
        };
    }

    /// <summary>DEVCONF_FORWARDING (the first s32 of IFLA_INET6_CONF) in a link's IFLA_AF_SPEC; null without one.</summary>
    private static int? Ipv6ConfForwarding(ReadOnlySpan<byte> afSpec)
    {
        var families = new NetlinkAttributeReader(afSpec);
        while (families.Next(out ushort family, out var inet6))
        {
            if (family != Rt.AF_INET6) continue;
            var conf = new NetlinkAttributeReader(inet6);
            while (conf.Next(out ushort type, out var value))
                if (type == Rt.IFLA_INET6_CONF && value.Length >= 4) return Nla.I32(value);
        }
        return null;
    }
}
