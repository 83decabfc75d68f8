using System.Runtime.InteropServices;

namespace Kraud.Net.Netlink;

/// <summary>The netlink socket options and address calls; the socket itself comes from <see cref="Kraud.Libc.Sockets.Open"/>.</summary>
internal static unsafe partial class NetlinkSyscalls
{
    public const int SOL_NETLINK = 270, NETLINK_CAP_ACK = 10, NETLINK_EXT_ACK = 11, NETLINK_GET_STRICT_CHK = 12;
    public const int SOL_SOCKET = 1, SO_SNDBUF = 7, SO_RCVBUF = 8, SO_RCVTIMEO = 20, SO_SNDBUFFORCE = 32, SO_RCVBUFFORCE = 33;
    public const int MSG_PEEK = 2, MSG_TRUNC = 0x20;

    [StructLayout(LayoutKind.Sequential)]
    public struct SockAddrNl
    {
        public ushort Family;
        public ushort Pad;
        public uint Pid;
        public uint Groups;
    }

    [LibraryImport("libc", SetLastError = true)]
    public static partial int bind(int fd, SockAddrNl* addr, uint len);

    [LibraryImport("libc", SetLastError = true)]
    public static partial int getsockname(int fd, SockAddrNl* addr, uint* len);

    [LibraryImport("libc", SetLastError = true)]
    public static partial nint sendto(int fd, void* buf, nuint len, int flags, SockAddrNl* addr, uint addrLen);
}
