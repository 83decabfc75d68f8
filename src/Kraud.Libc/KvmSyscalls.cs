using System.Runtime.InteropServices;

namespace Kraud.Libc;

/// <summary>
/// The libc calls a virtual machine monitor needs beyond <see cref="Native"/>: polling its event fds,
/// syncing disks, and kicking a vCPU thread out of KVM_RUN with a signal.
/// </summary>
public static unsafe partial class KvmSyscalls
{
    private const string Lib = "libc";

    public const short POLLIN = 1, POLLOUT = 4, POLLERR = 8, POLLHUP = 16;
    public const int EFD_CLOEXEC = 0x80000, EFD_NONBLOCK = 0x800;
    public const int SA_RESTART = 0x10000000;

    [StructLayout(LayoutKind.Sequential)]
    public struct PollFd
    {
        public int Fd;
        public short Events;
        public short Revents;
    }

    /// <summary>struct sigaction as glibc lays it out on x86-64 (handler, 128-byte mask, flags, restorer).</summary>
    [StructLayout(LayoutKind.Sequential, Size = 152)]
    public struct SigAction
    {
        public delegate* unmanaged<int, void> Handler;
        public fixed ulong Mask[16];
        public int Flags;
        private int _pad;
        public void* Restorer;
    }

    [LibraryImport(Lib, SetLastError = true)]
    public static partial int poll(PollFd* fds, nuint nfds, int timeoutMs);

    [LibraryImport(Lib, SetLastError = true)]
    public static partial int fdatasync(int fd);

    [LibraryImport(Lib, SetLastError = true)]
    public static partial nint readv(int fd, Native.IoVec* iov, int iovcnt);

    [LibraryImport(Lib, SetLastError = true)]
    public static partial nint writev(int fd, Native.IoVec* iov, int iovcnt);

    [LibraryImport(Lib, SetLastError = true)]
    public static partial long lseek(int fd, long offset, int whence);

    [LibraryImport(Lib)]
    public static partial nuint pthread_self();

    /// <summary>Returns an errno value (not -1) on failure, as pthread functions do.</summary>
    [LibraryImport(Lib)]
    public static partial int pthread_kill(nuint thread, int sig);

    [LibraryImport(Lib, SetLastError = true)]
    public static partial int sigaction(int sig, SigAction* act, SigAction* oldact);

    [LibraryImport(Lib)]
    public static partial int __libc_current_sigrtmin();
}
