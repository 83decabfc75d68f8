using System.Buffers.Binary;
using System.Runtime.InteropServices;
using Kraud.Libc;

namespace Kraud.Vmm.Tests;

/// <summary>
/// An AF_PACKET socket bound to one interface and ethertype: sees the frames the VMM writes into a tap, and
/// sends frames that come out of the tap's fd on the VMM side.
/// </summary>
public sealed unsafe partial class PacketSocket : IDisposable
{
    private const int AF_PACKET = 17, SOCK_RAW = 3, SOCK_CLOEXEC = 0x80000;
    private readonly FileDescriptor _fd;

    [StructLayout(LayoutKind.Sequential)]
    private struct SockaddrLl
    {
        public ushort Family, Protocol;
        public int IfIndex;
        public ushort HaType;
        public byte PktType, HaLen;
        public fixed byte Addr[8];
    }

    [LibraryImport("libc", SetLastError = true)]
    private static partial int socket(int domain, int type, int protocol);

    [LibraryImport("libc", SetLastError = true)]
    private static partial int bind(int fd, SockaddrLl* addr, uint len);

    [LibraryImport("libc", SetLastError = true)]
    private static partial nint send(int fd, byte* buf, nint len, int flags);

    public PacketSocket(string ifname, ushort ethertype)
        : this(int.Parse(File.ReadAllText($"/sys/class/net/{ifname}/ifindex").Trim()), ethertype) { }

    /// <summary>By index: for an interface of another network namespace (create it on a thread inside it), which /sys does not show.</summary>
    public PacketSocket(int ifindex, ushort ethertype)
    {
        ushort proto = BinaryPrimitives.ReverseEndianness(ethertype);
        _fd = new FileDescriptor(Native.Check(socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, proto), "socket(AF_PACKET)"));
        var sa = new SockaddrLl { Family = AF_PACKET, Protocol = proto, IfIndex = ifindex };
        Native.Check(bind(_fd.Fd, &sa, (uint)sizeof(SockaddrLl)), "bind(AF_PACKET)");
    }

    /// <summary>Waits up to <paramref name="timeoutMs"/> for a frame; null when none came.</summary>
    public byte[]? Receive(int timeoutMs)
    {
        var pfd = new Poll.PollFd { Fd = _fd.Fd, Events = Poll.POLLIN };
        if (Poll.poll(&pfd, 1, timeoutMs) <= 0) return null;
        var buf = new byte[2048];
        fixed (byte* p = buf)
        {
            nint n = Native.Check(Native.read(_fd.Fd, p, buf.Length), "read(AF_PACKET)");
            return buf.AsSpan(0, (int)n).ToArray();
        }
    }

    public void Send(ReadOnlySpan<byte> frame)
    {
        fixed (byte* p = frame) Native.Check(send(_fd.Fd, p, frame.Length, 0), "send(AF_PACKET)");
    }

    public void Dispose() => _fd.Dispose();
}
