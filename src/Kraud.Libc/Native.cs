using System.Runtime.InteropServices;

namespace Kraud.Libc;

/// <summary>
/// Raw libc entry points shared by the agent's projects. Thin on purpose: callers wrap them in
/// safe types. Every fd this project opens carries O_CLOEXEC / *_CLOEXEC so children never inherit it.
/// </summary>
public static unsafe partial class Native
{
    private const string Lib = "libc";

    public const int O_RDONLY = 0, O_WRONLY = 1, O_RDWR = 2, O_CREAT = 0x40, O_EXCL = 0x80, O_TRUNC = 0x200,
        O_APPEND = 0x400, O_NONBLOCK = 0x800, O_DIRECTORY = 0x10000, O_CLOEXEC = 0x80000;

    public const uint MFD_CLOEXEC = 1, MFD_ALLOW_SEALING = 2;
    public const int F_ADD_SEALS = 1033, F_SEAL_SEAL = 1, F_SEAL_SHRINK = 2, F_SEAL_GROW = 4, F_SEAL_WRITE = 8;

    public const int PROT_READ = 1, PROT_WRITE = 2, PROT_EXEC = 4;
    public const int MAP_SHARED = 1, MAP_PRIVATE = 2, MAP_ANONYMOUS = 0x20, MAP_NORESERVE = 0x4000;

    public const int SOL_SOCKET = 1, SCM_RIGHTS = 1, SO_SNDBUF = 7, SO_SNDBUFFORCE = 32;
    public const int MSG_NOSIGNAL = 0x4000, MSG_CMSG_CLOEXEC = 0x40000000, MSG_DONTWAIT = 0x40;

    [LibraryImport(Lib, SetLastError = true)]
    public static partial int close(int fd);

    [LibraryImport(Lib, EntryPoint = "open", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int open_(string path, int flags, int mode);

    /// <summary>open(2) that always adds O_CLOEXEC.</summary>
    public static int open(string path, int flags, int mode = 0) => open_(path, flags | O_CLOEXEC, mode);

    [LibraryImport(Lib, SetLastError = true)]
    public static partial nint read(int fd, void* buf, nint count);

    [LibraryImport(Lib, SetLastError = true)]
    public static partial nint write(int fd, void* buf, nint count);

    [LibraryImport(Lib, SetLastError = true)]
    public static partial nint pread(int fd, void* buf, nint count, long offset);

    [LibraryImport(Lib, SetLastError = true)]
    public static partial nint pwrite(int fd, void* buf, nint count, long offset);

    public const int SEEK_END = 2;

    [LibraryImport(Lib, SetLastError = true)]
    public static partial long lseek(int fd, long offset, int whence);

    [LibraryImport(Lib, SetLastError = true)]
    public static partial int fdatasync(int fd);

    [LibraryImport(Lib, SetLastError = true)]
    public static partial int ftruncate(int fd, long length);

    [LibraryImport(Lib, SetLastError = true)]
    public static partial int ioctl(int fd, nuint request, void* arg);

    [LibraryImport(Lib, SetLastError = true)]
    public static partial int ioctl(int fd, nuint request, nuint arg);

    [LibraryImport(Lib, SetLastError = true)]
    public static partial int fcntl(int fd, int cmd, int arg);

    public const int LOCK_EX = 2, LOCK_NB = 4;

    [LibraryImport(Lib, SetLastError = true)]
    public static partial int flock(int fd, int operation);

    [LibraryImport(Lib, SetLastError = true)]
    public static partial void* mmap(void* addr, nuint length, int prot, int flags, int fd, long offset);

    [LibraryImport(Lib, SetLastError = true)]
    public static partial int munmap(void* addr, nuint length);

    [LibraryImport(Lib, SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int memfd_create(string name, uint flags);

    [LibraryImport(Lib, SetLastError = true)]
    public static partial nint sendmsg(int fd, MsgHdr* msg, int flags);

    [LibraryImport(Lib, SetLastError = true)]
    public static partial nint recvmsg(int fd, MsgHdr* msg, int flags);

    [LibraryImport(Lib, SetLastError = true)]
    public static partial int connect(int fd, void* address, uint addressLength);

    [LibraryImport(Lib, SetLastError = true)]
    public static partial int setsockopt(int fd, int level, int name, void* value, uint len);

    [LibraryImport(Lib)]
    public static partial int getpid();

    [LibraryImport(Lib)]
    public static partial uint geteuid();

    [LibraryImport(Lib, SetLastError = true)]
    public static partial int fstat(int fd, Stat* buf);

    [LibraryImport(Lib, SetLastError = true)]
    public static partial int kill(int pid, int sig);

    public const int EFD_CLOEXEC = 0x80000, EFD_NONBLOCK = 0x800;

    [LibraryImport(Lib, SetLastError = true)]
    public static partial int eventfd(uint initval, int flags);

    [LibraryImport(Lib, SetLastError = true)]
    public static partial int prctl(int option, nuint arg2, nuint arg3, nuint arg4, nuint arg5);

    [LibraryImport(Lib, SetLastError = true)]
    public static partial int setns(int fd, int nstype);

    [LibraryImport(Lib, SetLastError = true)]
    public static partial int unshare(int flags);

    /// <summary>Throws a <see cref="LibcException"/> when a call returned a negative value.</summary>
    public static int Check(int result, string operation) => result < 0 ? throw LibcException.FromLastError(operation) : result;

    /// <summary>
    /// Writes all of <paramref name="data"/> to <paramref name="fd"/>, across short writes and EINTR; returns 0 or
    /// the errno that stopped it. For stdout and stderr without System.Console, which brings terminal handling
    /// and key parsing into a binary that never reads a key.
    /// </summary>
    public static int WriteAll(int fd, ReadOnlySpan<byte> data)
    {
        fixed (byte* p = data)
        {
            int done = 0;
            while (done < data.Length)
            {
                nint n = write(fd, p + done, data.Length - done);
                if (n > 0) { done += (int)n; continue; }
                int errno = n < 0 ? Marshal.GetLastPInvokeError() : Errno.EIO;
                if (errno != Errno.EINTR) return errno;
            }
            return 0;
        }
    }

    /// <inheritdoc cref="Check(int, string)"/>
    public static nint Check(nint result, string operation) => result < 0 ? throw LibcException.FromLastError(operation) : result;

    [StructLayout(LayoutKind.Sequential)]
    public struct IoVec
    {
        public void* Base;
        public nuint Length;
    }

    [StructLayout(LayoutKind.Sequential)]
    public struct MsgHdr
    {
        public void* Name;
        public uint NameLen;
        public IoVec* Iov;
        public nuint IovLen;
        public void* Control;
        public nuint ControlLen;
        public int Flags;
    }

    [StructLayout(LayoutKind.Sequential)]
    public struct CmsgHdr
    {
        public nuint Len;
        public int Level;
        public int Type;
    }

    /// <summary>struct stat on x86-64 (144 bytes).</summary>
    [StructLayout(LayoutKind.Sequential, Size = 144)]
    public struct Stat
    {
        public ulong Dev;
        public ulong Ino;
        public ulong NLink;
        public uint Mode;
        public uint Uid;
        public uint Gid;
        private uint _pad0;
        public ulong RDev;
        public long Size;
        public long BlkSize;
        public long Blocks;
    }
}
