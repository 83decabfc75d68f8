using System.Runtime.InteropServices;

namespace Kraud.Libc;

/// <summary>poll(2): wait until one of several fds is ready.</summary>
public static unsafe partial class Poll
{
    public const short POLLIN = 1, POLLOUT = 4, POLLERR = 8, POLLHUP = 16;

    [StructLayout(LayoutKind.Sequential)]
    public struct PollFd
    {
        public int Fd;
        public short Events;
        public short Revents;
    }

    [LibraryImport("libc", SetLastError = true)]
    public static partial int poll(PollFd* fds, nuint nfds, int timeoutMs);
}
