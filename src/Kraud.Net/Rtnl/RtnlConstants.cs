namespace Kraud.Net.Rtnl;

/// <summary>rtnetlink message types, attributes and flags (uapi rtnetlink.h, if_link.h, if_addr.h, if_tunnel.h).</summary>
internal static class Rt
{
    public const ushort RTM_NEWLINK = 16, RTM_DELLINK = 17, RTM_GETLINK = 18, RTM_SETLINK = 19;
    public const ushort RTM_NEWADDR = 20, RTM_DELADDR = 21, RTM_GETADDR = 22;
    public const ushort RTM_NEWROUTE = 24, RTM_DELROUTE = 25, RTM_GETROUTE = 26;

    public const ushort IFLA_ADDRESS = 1, IFLA_IFNAME = 3, IFLA_MTU = 4, IFLA_LINK = 5, IFLA_MASTER = 10,
        IFLA_OPERSTATE = 16, IFLA_LINKINFO = 18, IFLA_IFALIAS = 20, IFLA_AF_SPEC = 26, IFLA_GROUP = 27, IFLA_NET_NS_FD = 28, IFLA_EXT_MASK = 29;
    public const ushort AF_INET6 = 10, IFLA_INET6_CONF = 2; // IFLA_AF_SPEC's IPv6 part: devconf, s32 each, forwarding first
    public const ushort IFLA_INFO_KIND = 1, IFLA_INFO_DATA = 2;
    public const ushort VETH_INFO_PEER = 1;
    public const ushort IFLA_VRF_TABLE = 1;
    public const uint RTEXT_FILTER_SKIP_STATS = 8;

    public const ushort IFLA_IPTUN_LINK = 1, IFLA_IPTUN_LOCAL = 2, IFLA_IPTUN_REMOTE = 3, IFLA_IPTUN_TTL = 4,
        IFLA_IPTUN_ENCAP_LIMIT = 6, IFLA_IPTUN_FLOWINFO = 7, IFLA_IPTUN_FLAGS = 8, IFLA_IPTUN_PROTO = 9;

    public const ushort IFA_ADDRESS = 1, IFA_LOCAL = 2, IFA_FLAGS = 8;

    public const ushort RTA_DST = 1, RTA_OIF = 4, RTA_GATEWAY = 5, RTA_PRIORITY = 6, RTA_PREFSRC = 7, RTA_TABLE = 15, RTA_VIA = 18;
    public const byte RT_SCOPE_UNIVERSE = 0, RT_SCOPE_LINK = 253, RT_SCOPE_HOST = 254, RT_SCOPE_NOWHERE = 255;
    public const byte RTN_UNICAST = 1;

    public const int IfInfoMsgSize = 16, IfAddrMsgSize = 8, RtMsgSize = 12;
}

/// <summary>Interface flags (IFF_*).</summary>
public static class LinkFlags
{
    public const uint Up = 0x1, Broadcast = 0x2, Loopback = 0x8, PointToPoint = 0x10, Running = 0x40, NoArp = 0x80,
        Multicast = 0x1000, LowerUp = 0x10000;
}

/// <summary>Address flags (IFA_F_*).</summary>
public static class AddressFlags
{
    public const uint Secondary = 0x1, NoDad = 0x2, Tentative = 0x40, Permanent = 0x80, NoPrefixRoute = 0x200;
}

/// <summary>Route tables and protocols.</summary>
public static class RouteTables
{
    public const uint Main = 254, Local = 255;
}

public static class RouteProtocols
{
    public const byte Kernel = 2, Boot = 3, Static = 4;

    /// <summary>Routes the agent owns carry this protocol, so it can find them again in a dump.</summary>
    public const byte Kraud = 75;
}
