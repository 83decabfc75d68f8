using Kraud.Net.Netlink;

namespace Kraud.Net.Rtnl;

public sealed partial class RtNetlink
{
    private const ushort RTM_NEWNETCONF = 80, RTM_GETNETCONF = 82;
    private const ushort NETCONFA_IFINDEX = 1, NETCONFA_FORWARDING = 2;
    private const int NetconfMsgSize = 4; // struct netconfmsg: one byte of family, aligned

    /// <summary>The interface index that stands for net.ipv6.conf.all in <see cref="Ipv6Forwarding"/>.</summary>
    public const int NetconfAll = -1;

    /// <summary>
    /// net.ipv6.conf.&lt;device&gt;.forwarding of link <paramref name="index"/> (<see cref="NetconfAll"/>: "all"), read over
    /// rtnetlink (RTM_GETNETCONF): no /proc file, so no thread inside the namespace; null when the reply has none.
    /// </summary>
    public int? Ipv6Forwarding(int index)
    {
        using var b = new NetlinkMessageBuilder(RTM_GETNETCONF, 0);
        b.Reserve(NetconfMsgSize)[0] = 10;
        b.AddI32(NETCONFA_IFINDEX, index);
        foreach (var m in _socket.Execute(b, $"get IPv6 netconf of link #{index}"))
        {
            if (m.Type != RTM_NEWNETCONF) continue;
            var attrs = m.Attributes(NetconfMsgSize);
            while (attrs.Next(out ushort type, out var value))
                if (type == NETCONFA_FORWARDING && value.Length >= 4) return Nla.I32(value);
        }
        return null;
    }
}
