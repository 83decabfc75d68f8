namespace Kraud.Net.Netlink;

/// <summary>Generic netlink: the 4-byte genlmsghdr and family lookup through nlctrl.</summary>
public static class GenericNetlink
{
    public const ushort GENL_ID_CTRL = 0x10;
    public const byte CTRL_CMD_GETFAMILY = 3;
    public const ushort CTRL_ATTR_FAMILY_ID = 1, CTRL_ATTR_FAMILY_NAME = 2, CTRL_ATTR_VERSION = 3;
    public const int HeaderLength = 4;

    /// <summary>A request to family <paramref name="familyId"/>: nlmsghdr + genlmsghdr.</summary>
    public static NetlinkMessageBuilder Request(ushort familyId, ushort flags, byte command, byte version, int capacity = 256)
    {
        var b = new NetlinkMessageBuilder(familyId, flags, capacity);
        var h = b.Reserve(HeaderLength);
        h[0] = command;
        h[1] = version;
        return b;
    }

    /// <summary>The id of a family; throws <see cref="NetlinkException"/> (ENOENT) when it is not registered.</summary>
    public static ushort ResolveFamily(NetlinkSocket socket, string name)
    {
        using var b = Request(GENL_ID_CTRL, 0, CTRL_CMD_GETFAMILY, 1);
        b.AddString(CTRL_ATTR_FAMILY_NAME, name);
        foreach (var m in socket.Execute(b, $"resolve generic netlink family \"{name}\""))
        {
            var attrs = m.Attributes(HeaderLength);
            while (attrs.Next(out ushort type, out var value))
                if (type == CTRL_ATTR_FAMILY_ID) return Nla.U16(value);
        }
        throw new NetlinkException($"resolve generic netlink family \"{name}\"", Kraud.Libc.Errno.ENOENT, "no family id in the reply");
    }
}
