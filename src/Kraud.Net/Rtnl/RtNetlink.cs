using System.Buffers.Binary;
using Kraud.Net.Netlink;
using Kraud.Libc;

namespace Kraud.Net.Rtnl;

/// <summary>
/// rtnetlink in the style of vishvananda/netlink: links, addresses and routes of one network namespace
/// (the caller's, or the one given to <see cref="Open"/>). Thread-safe; one request at a time.
/// </summary>
public sealed partial class RtNetlink : IDisposable
{
    private readonly NetlinkSocket _socket;

    private RtNetlink(NetlinkSocket socket) => _socket = socket;

    public static RtNetlink Open(NetNs? ns = null) => new(NetlinkSocket.Open(Nl.NETLINK_ROUTE, ns));

    internal NetlinkSocket Socket => _socket;

    private static NetlinkMessageBuilder IfInfo(ushort type, ushort flags, int index = 0, uint ifFlags = 0, uint change = 0)
    {
        var b = new NetlinkMessageBuilder(type, flags);
        var h = b.Reserve(Rt.IfInfoMsgSize);
        BinaryPrimitives.WriteInt32LittleEndian(h[4..], index);
        BinaryPrimitives.WriteUInt32LittleEndian(h[8..], ifFlags);
        BinaryPrimitives.WriteUInt32LittleEndian(h[12..], change);
        return b;
    }

    private void Do(NetlinkMessageBuilder request, string operation)
    {
        using (request) _socket.Execute(request, operation);
    }

    public void Dispose() => _socket.Dispose();
}
