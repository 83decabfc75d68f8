using System.Runtime.InteropServices;

namespace Kraud.Libc;

/// <summary>socket(2) for families .NET's Socket class does not map (AF_NETLINK), always close-on-exec.</summary>
public static partial class Sockets
{
    public const int AF_UNIX = 1, AF_INET = 2, AF_INET6 = 10, AF_NETLINK = 16;
    public const int SOCK_STREAM = 1, SOCK_DGRAM = 2, SOCK_RAW = 3, SOCK_NONBLOCK = 0x800, SOCK_CLOEXEC = 0x80000;

    [LibraryImport("libc", EntryPoint = "socket", SetLastError = true)]
    private static partial int socket_(int domain, int type, int protocol);

    /// <summary>Opens a socket with SOCK_CLOEXEC added; throws <see cref="LibcException"/> on failure.</summary>
    public static FileDescriptor Open(int domain, int type, int protocol)
    {
        int fd = socket_(domain, type | SOCK_CLOEXEC, protocol);
        if (fd < 0) throw LibcException.FromLastError($"socket({domain}, {type}, {protocol})");
        return new FileDescriptor(fd);
    }
}
