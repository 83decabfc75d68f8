namespace Kraud.Libc;

/// <summary>SCM_RIGHTS over a Unix socket: send one fd with a payload, receive it back.</summary>
public static unsafe class FdPassing
{
    private static int CmsgSpace(int dataLen) => (sizeof(Native.CmsgHdr) + dataLen + 7) & ~7;

    /// <summary>Sends <paramref name="payload"/> (may be empty) and <paramref name="fdToSend"/> on a connected socket.</summary>
    public static void Send(int socketFd, ReadOnlySpan<byte> payload, int fdToSend)
    {
        byte dummy = 0;
        int space = CmsgSpace(sizeof(int));
        byte* control = stackalloc byte[space];
        new Span<byte>(control, space).Clear();
        var cmsg = (Native.CmsgHdr*)control;
        cmsg->Len = (nuint)(sizeof(Native.CmsgHdr) + sizeof(int));
        cmsg->Level = Native.SOL_SOCKET;
        cmsg->Type = Native.SCM_RIGHTS;
        *(int*)(control + sizeof(Native.CmsgHdr)) = fdToSend;
        fixed (byte* p = payload)
        {
            var iov = new Native.IoVec { Base = payload.Length == 0 ? &dummy : p, Length = (nuint)payload.Length };
            var msg = new Native.MsgHdr { Iov = &iov, IovLen = 1, Control = control, ControlLen = (nuint)space };
            Native.Check(Native.sendmsg(socketFd, &msg, Native.MSG_NOSIGNAL), "sendmsg(SCM_RIGHTS)");
        }
    }

    /// <summary>
    /// Receives one datagram into <paramref name="buffer"/>; returns its length and the fd that came with it
    /// (-1 when none). The fd arrives close-on-exec and belongs to the caller.
    /// </summary>
    public static int Receive(int socketFd, Span<byte> buffer, out int receivedFd)
    {
        receivedFd = -1;
        int space = CmsgSpace(sizeof(int) * 4);
        byte* control = stackalloc byte[space];
        fixed (byte* p = buffer)
        {
            var iov = new Native.IoVec { Base = p, Length = (nuint)buffer.Length };
            var msg = new Native.MsgHdr { Iov = &iov, IovLen = 1, Control = control, ControlLen = (nuint)space };
            int n = (int)Native.Check(Native.recvmsg(socketFd, &msg, Native.MSG_CMSG_CLOEXEC), "recvmsg");
            if (msg.ControlLen >= (nuint)sizeof(Native.CmsgHdr))
            {
                var cmsg = (Native.CmsgHdr*)control;
                if (cmsg->Level == Native.SOL_SOCKET && cmsg->Type == Native.SCM_RIGHTS)
                    receivedFd = *(int*)(control + sizeof(Native.CmsgHdr));
            }
            return n;
        }
    }
}
