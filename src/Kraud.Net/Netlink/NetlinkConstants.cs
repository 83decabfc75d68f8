namespace Kraud.Net.Netlink;

/// <summary>Netlink header types and flags (uapi linux/netlink.h).</summary>
public static class Nl
{
    public const int NETLINK_ROUTE = 0, NETLINK_GENERIC = 16;
    public const int HeaderLength = 16;

    public const ushort NLMSG_NOOP = 1, NLMSG_ERROR = 2, NLMSG_DONE = 3, NLMSG_OVERRUN = 4;

    public const ushort F_REQUEST = 0x1, F_MULTI = 0x2, F_ACK = 0x4, F_ECHO = 0x8, F_DUMP_INTR = 0x10;
    public const ushort F_ROOT = 0x100, F_MATCH = 0x200, F_DUMP = 0x300;
    public const ushort F_REPLACE = 0x100, F_EXCL = 0x200, F_CREATE = 0x400, F_APPEND = 0x800;
    public const ushort F_CAPPED = 0x100, F_ACK_TLVS = 0x200;

    public const ushort NLA_F_NESTED = 0x8000, NLA_F_NET_BYTEORDER = 0x4000, NLA_TYPE_MASK = 0x3FFF;

    public const ushort NLMSGERR_ATTR_MSG = 1, NLMSGERR_ATTR_OFFS = 2;

    public static int Align(int length) => (length + 3) & ~3;
}
