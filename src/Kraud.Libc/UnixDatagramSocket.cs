using System.Runtime.InteropServices;
using System.Text;

namespace Kraud.Libc;

/// <summary>
/// An AF_UNIX datagram socket (close-on-exec) that sends to one address: journald's socket, $NOTIFY_SOCKET.
/// A path starting with '@' is in the abstract namespace. Every datagram carries the address (sendmsg with a
/// name), so a peer that restarts needs no reconnect. Used instead of System.Net.Sockets, whose Socket class
/// brings its tracing and about 40 KB of code into the small kraud-vmm binary.
/// </summary>
public sealed unsafe partial class UnixDatagramSocket : IDisposable
{
    private const int SunPathLength = 108;

    private readonly FileDescriptor _fd;
    private readonly byte[] _address; // struct sockaddr_un, only as long as the kernel is told
    private readonly Lock _gate = new();

    public UnixDatagramSocket(string path)
    {
        bool isAbstract = path.StartsWith('@');
        byte[] name = Encoding.UTF8.GetBytes(isAbstract ? path[1..] : path);
        if (name.Length + 1 > SunPathLength) throw new ArgumentException($"unix socket path too long: {path}", nameof(path));
        // Abstract: a leading NUL and no terminator; a path: NUL-terminated.
        _address = new byte[2 + 1 + name.Length];
        _address[0] = Sockets.AF_UNIX;
        name.CopyTo(_address, isAbstract ? 3 : 2);
        Path = path;
        _fd = Sockets.Open(Sockets.AF_UNIX, Sockets.SOCK_DGRAM, 0);
    }

    public string Path { get; }

    public int Fd => _fd.Fd;

    /// <summary>Sends one datagram; returns 0, or the errno (ENOENT and ECONNREFUSED: nobody listens;
    /// EMSGSIZE and ENOBUFS: too big for one datagram).</summary>
    public int TrySend(ReadOnlySpan<byte> datagram) => TrySend(datagram, -1);

    /// <summary>Sends one datagram with <paramref name="fdToPass"/> attached (SCM_RIGHTS); returns 0 or the errno.</summary>
    public int TrySend(ReadOnlySpan<byte> datagram, int fdToPass)
    {
        byte dummy = 0;
        int space = (sizeof(Native.CmsgHdr) + sizeof(int) + 7) & ~7;
        byte* control = stackalloc byte[space];
        new Span<byte>(control, space).Clear();
        if (fdToPass >= 0)
        {
            var cmsg = (Native.CmsgHdr*)control;
            cmsg->Len = (nuint)(sizeof(Native.CmsgHdr) + sizeof(int));
            cmsg->Level = Native.SOL_SOCKET;
            cmsg->Type = Native.SCM_RIGHTS;
            *(int*)(control + sizeof(Native.CmsgHdr)) = fdToPass;
        }
        lock (_gate)
        {
            if (_fd.IsClosed) return Errno.EBADF;
            fixed (byte* p = datagram)
            fixed (byte* address = _address)
            {
                var iov = new Native.IoVec { Base = datagram.Length == 0 ? &dummy : p, Length = (nuint)datagram.Length };
                var msg = new Native.MsgHdr
                {
                    Name = address, NameLen = (uint)_address.Length, Iov = &iov, IovLen = 1,
                    Control = fdToPass >= 0 ? control : null, ControlLen = fdToPass >= 0 ? (nuint)space : 0,
                };
                while (true)
                {
                    if (Native.sendmsg(_fd.Fd, &msg, Native.MSG_NOSIGNAL) >= 0) return 0;
                    int errno = Marshal.GetLastPInvokeError();
                    if (errno != Errno.EINTR) return errno;
                }
            }
        }
    }

    public void Dispose()
    {
        lock (_gate) _fd.Dispose();
    }
}
