using System.Runtime.InteropServices;
using System.Text;

namespace Kraud.Bench.Kvm;

/// <summary>
/// A NOTIFY_SOCKET for the VMM, as systemd's: a datagram socket at a path whose messages carry the kernel's arrival
/// time (SO_TIMESTAMPNS, wall clock), so READY=1 is timed when it was queued, not when this process got to read it.
/// </summary>
internal sealed unsafe partial class NotifySocket : IDisposable
{
    private const int AF_UNIX = 1, SOCK_DGRAM = 2, SOCK_CLOEXEC = 0x80000, SOL_SOCKET = 1, SO_TIMESTAMPNS = 35, MSG_DONTWAIT = 0x40;

    private readonly int _fd;

    public NotifySocket(string path)
    {
        Path = path;
        _fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        if (_fd < 0) throw new IOException($"socket: errno {Marshal.GetLastPInvokeError()}");
        byte[] address = new byte[110];
        address[0] = AF_UNIX;
        Encoding.UTF8.GetBytes(path, address.AsSpan(2));
        fixed (byte* a = address)
            if (bind(_fd, a, (uint)address.Length) != 0) throw new IOException($"bind {path}: errno {Marshal.GetLastPInvokeError()}");
        int on = 1;
        setsockopt(_fd, SOL_SOCKET, SO_TIMESTAMPNS, &on, sizeof(int));
    }

    public string Path { get; }

    /// <summary>The next waiting datagram and its arrival (nanoseconds since the Unix epoch); false when none waits.</summary>
    public bool TryReceive(out string text, out long arrivedNs)
    {
        byte* buffer = stackalloc byte[4096];
        byte* control = stackalloc byte[64];
        var iov = new IoVec { Base = buffer, Length = 4096 };
        var msg = new MsgHdr { Iov = &iov, IovLen = 1, Control = control, ControlLen = 64 };
        nint n = recvmsg(_fd, &msg, MSG_DONTWAIT);
        text = n > 0 ? Encoding.UTF8.GetString(buffer, (int)n) : "";
        arrivedNs = msg.ControlLen >= 32 && *(int*)(control + 12) == SO_TIMESTAMPNS
            ? *(long*)(control + 16) * 1_000_000_000 + *(long*)(control + 24)
            : 0;
        return n >= 0;
    }

    public void Dispose()
    {
        close(_fd);
        File.Delete(Path);
    }

    [StructLayout(LayoutKind.Sequential)]
    private struct IoVec { public void* Base; public nuint Length; }

    [StructLayout(LayoutKind.Sequential)]
    private struct MsgHdr { public void* Name; public uint NameLen; public IoVec* Iov; public nuint IovLen; public void* Control; public nuint ControlLen; public int Flags; }

    [LibraryImport("libc", SetLastError = true)]
    private static partial int socket(int domain, int type, int protocol);

    [LibraryImport("libc", SetLastError = true)]
    private static partial int bind(int fd, byte* address, uint length);

    [LibraryImport("libc", SetLastError = true)]
    private static partial int setsockopt(int fd, int level, int name, void* value, uint length);

    [LibraryImport("libc", SetLastError = true)]
    private static partial nint recvmsg(int fd, MsgHdr* msg, int flags);

    [LibraryImport("libc")]
    private static partial int close(int fd);
}
