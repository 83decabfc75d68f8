using System.Buffers.Binary;
using System.Net;
using Kraud.Net.Netlink;

namespace Kraud.Net.Rtnl;

public sealed partial class RtNetlink
{
    /// <summary>Adds an address (EEXIST when present). IPv6 addresses skip DAD unless told otherwise: usable at once.</summary>
    public void AddrAdd(int linkIndex, IpPrefix prefix, uint? flags = null) =>
        Do(AddrMessage(Rt.RTM_NEWADDR, Nl.F_CREATE | Nl.F_EXCL, linkIndex, prefix, flags), $"add address {prefix} to link #{linkIndex}");

    /// <summary>Adds or updates an address (idempotent).</summary>
    public void AddrReplace(int linkIndex, IpPrefix prefix, uint? flags = null) =>
        Do(AddrMessage(Rt.RTM_NEWADDR, Nl.F_CREATE | Nl.F_REPLACE, linkIndex, prefix, flags), $"replace address {prefix} on link #{linkIndex}");

    public void AddrDel(int linkIndex, IpPrefix prefix) =>
        Do(AddrMessage(Rt.RTM_DELADDR, 0, linkIndex, prefix, 0), $"delete address {prefix} from link #{linkIndex}");

    private static NetlinkMessageBuilder AddrMessage(ushort type, ushort nlFlags, int linkIndex, IpPrefix prefix, uint? flags)
    {
        uint f = flags ?? (prefix.IsIPv6 ? AddressFlags.NoDad : 0);
        var b = new NetlinkMessageBuilder(type, nlFlags);
        var h = b.Reserve(Rt.IfAddrMsgSize);
        h[0] = prefix.Family;
        h[1] = (byte)prefix.PrefixLength;
        h[2] = (byte)f;
        BinaryPrimitives.WriteInt32LittleEndian(h[4..], linkIndex);
        if (!prefix.IsIPv6) b.AddAddress(Rt.IFA_LOCAL, prefix.Address);
        b.AddAddress(Rt.IFA_ADDRESS, prefix.Address);
        if (f > 0xFF || type == Rt.RTM_NEWADDR) b.AddU32(Rt.IFA_FLAGS, f);
        return b;
    }

    /// <summary>Addresses, optionally of one link and/or one family (2 or 10).</summary>
    public List<Address> AddrList(int linkIndex = 0, byte family = 0)
    {
        using var b = new NetlinkMessageBuilder(Rt.RTM_GETADDR, Nl.F_DUMP);
        var h = b.Reserve(Rt.IfAddrMsgSize);
        h[0] = family;
        BinaryPrimitives.WriteInt32LittleEndian(h[4..], linkIndex);
        var list = new List<Address>();
        foreach (var m in _socket.Dump(b, linkIndex == 0 ? "list addresses" : $"list addresses of link #{linkIndex}"))
        {
            if (m.Type != Rt.RTM_NEWADDR) continue;
            var p = m.Payload.Span;
            byte fam = p[0], len = p[1], scope = p[3];
            uint flags = p[2];
            int index = BinaryPrimitives.ReadInt32LittleEndian(p[4..]);
            if (linkIndex != 0 && index != linkIndex) continue;
            IPAddress? address = null, local = null;
            var attrs = m.Attributes(Rt.IfAddrMsgSize);
            while (attrs.Next(out ushort type, out var value))
            {
                if (type == Rt.IFA_ADDRESS) address = new IPAddress(value);
                else if (type == Rt.IFA_LOCAL) local = new IPAddress(value);
                else if (type == Rt.IFA_FLAGS) flags = Nla.U32(value);
            }
            var a = fam == 2 ? local ?? address : address ?? local;
            if (a is not null) list.Add(new Address(index, new IpPrefix(a, len), flags, scope));
        }
        return list;
    }
}
