using System.Runtime.InteropServices;
using System.Text;

namespace Kraud.Libc;

/// <summary>
/// A connected AF_UNIX stream socket (close-on-exec) that sends messages with file descriptors attached
/// (SCM_RIGHTS) and reads exact lengths: the vhost-user front end's channel to its back end. Blocking, and every
/// send uses MSG_NOSIGNAL, so a peer that died is an EPIPE, never a SIGPIPE.
/// </summary>
public sealed unsafe class UnixStreamSocket : IDisposable
{
    private const int SunPathLength = 108, MaxFds = 8, MSG_PEEK = 2;

    private readonly FileDescriptor _fd;

    private UnixStreamSocket(FileDescriptor fd) => _fd = fd;

    public int Fd => _fd.Fd;

    /// <summary>Connects to the socket at <paramref name="path"/>; throws <see cref="LibcException"/> (ENOENT, ECONNREFUSED).</summary>
    public static UnixStreamSocket Connect(string path)
    {
        byte[] name = Encoding.UTF8.GetBytes(path);
        if (name.Length + 1 > SunPathLength) throw new ArgumentException($"unix socket path too long: {path}", nameof(path));
        byte* address = stackalloc byte[2 + SunPathLength];
        new Span<byte>(address, 2 + SunPathLength).Clear();
        address[0] = Sockets.AF_UNIX;
        name.CopyTo(new Span<byte>(address + 2, name.Length));
        var fd = Sockets.Open(Sockets.AF_UNIX, Sockets.SOCK_STREAM, 0);
        while (true)
        {
            if (Native.connect(fd.Fd, address, (uint)(2 + name.Length + 1)) == 0) return new UnixStreamSocket(fd);
            if (Marshal.GetLastPInvokeError() == Errno.EINTR) continue;
            var error = LibcException.FromLastError($"connect {path}");
            fd.Dispose();
            throw error;
        }
    }

    /// <summary>Sends all of <paramref name="data"/>, the first chunk carrying <paramref name="fds"/>.</summary>
    public void Send(ReadOnlySpan<byte> data, ReadOnlySpan<int> fds)
    {
        if (fds.Length > MaxFds) throw new ArgumentException($"at most {MaxFds} fds per message", nameof(fds));
        int space = (sizeof(Native.CmsgHdr) + sizeof(int) * fds.Length + 7) & ~7;
        byte* control = stackalloc byte[Math.Max(space, 8)];
        if (fds.Length > 0)
        {
            new Span<byte>(control, space).Clear();
            var cmsg = (Native.CmsgHdr*)control;
            cmsg->Len = (nuint)(sizeof(Native.CmsgHdr) + sizeof(int) * fds.Length);
            cmsg->Level = Native.SOL_SOCKET;
            cmsg->Type = Native.SCM_RIGHTS;
            fds.CopyTo(new Span<int>(control + sizeof(Native.CmsgHdr), fds.Length));
        }
        fixed (byte* p = data)
        {
            int done = 0;
            while (done < data.Length)
            {
                var iov = new Native.IoVec { Base = p + done, Length = (nuint)(data.Length - done) };
                var msg = new Native.MsgHdr { Iov = &iov, IovLen = 1 };
                if (done == 0 && fds.Length > 0) { msg.Control = control; msg.ControlLen = (nuint)space; }
                nint n = Native.sendmsg(_fd.Fd, &msg, Native.MSG_NOSIGNAL);
                if (n < 0)
                {
                    if (Marshal.GetLastPInvokeError() == Errno.EINTR) continue;
                    throw LibcException.FromLastError("sendmsg");
                }
                done += (int)n;
            }
        }
    }

    /// <summary>Reads exactly <paramref name="buffer"/>.Length bytes; throws <see cref="EndOfStreamException"/> when the peer closed.</summary>
    public void ReceiveExactly(Span<byte> buffer)
    {
        fixed (byte* p = buffer)
        {
            int done = 0;
            while (done < buffer.Length)
            {
                var iov = new Native.IoVec { Base = p + done, Length = (nuint)(buffer.Length - done) };
                var msg = new Native.MsgHdr { Iov = &iov, IovLen = 1 };
                nint n = Native.recvmsg(_fd.Fd, &msg, Native.MSG_CMSG_CLOEXEC);
                if (n < 0)
                {
                    if (Marshal.GetLastPInvokeError() == Errno.EINTR) continue;
                    throw LibcException.FromLastError("recvmsg");
                }
                if (n == 0) throw new EndOfStreamException("the peer closed the socket");
                done += (int)n;
            }
        }
    }

    /// <summary>
    /// Without blocking: true when the peer has closed (or reset) the socket; bytes waiting to be read are left
    /// where they are.
    /// </summary>
    public bool PeerClosed()
    {
        byte b;
        var iov = new Native.IoVec { Base = &b, Length = 1 };
        var msg = new Native.MsgHdr { Iov = &iov, IovLen = 1 };
        nint n = Native.recvmsg(_fd.Fd, &msg, MSG_PEEK | Native.MSG_DONTWAIT);
        if (n == 0) return true;
        if (n > 0) return false;
        int errno = Marshal.GetLastPInvokeError();
        return errno != Errno.EAGAIN && errno != Errno.EINTR;
    }

    public void Dispose() => _fd.Dispose();
}
