using System.Buffers.Binary;
using System.Runtime.InteropServices;
using Kraud.Libc;
using static Kraud.Net.Netlink.NetlinkSyscalls;

namespace Kraud.Net.Netlink;

/// <summary>
/// A request/response netlink socket bound to the namespace it was opened in. One request at a time
/// (a lock): send with a fresh sequence number, read datagrams sized with MSG_PEEK|MSG_TRUNC so nothing
/// is ever truncated, keep only replies from the kernel (source port 0) to this port with this sequence,
/// and drain to the ACK or NLMSG_DONE so the next dump never meets EBUSY.
/// </summary>
public sealed unsafe class NetlinkSocket : IDisposable
{
    private const int ReceiveTimeoutSeconds = 60;
    private readonly FileDescriptor _fd;
    private readonly Lock _gate = new();
    private byte[] _receive = GC.AllocateUninitializedArray<byte>(32 * 1024, pinned: true);
    private uint _seq;
    private long _interruptedDumps;

    private NetlinkSocket(FileDescriptor fd, int protocol, uint portId)
    {
        _fd = fd;
        Protocol = protocol;
        PortId = portId;
        _seq = (uint)Environment.TickCount;
    }

    public int Protocol { get; }

    /// <summary>How many dumps the kernel flagged inconsistent (NLM_F_DUMP_INTR) and were repeated.</summary>
    public long InterruptedDumps => Interlocked.Read(ref _interruptedDumps);

    /// <summary>The port id the kernel assigned; replies must carry it.</summary>
    public uint PortId { get; }

    /// <summary>Opens a socket in the caller's namespace, or in <paramref name="ns"/> (via a dedicated thread).</summary>
    public static NetlinkSocket Open(int protocol, NetNs? ns = null) => ns is null ? OpenHere(protocol) : ns.Run(() => OpenHere(protocol));

    private static NetlinkSocket OpenHere(int protocol)
    {
        var fd = Sockets.Open(Sockets.AF_NETLINK, Sockets.SOCK_RAW, protocol);
        int raw = fd.Fd;
        try
        {
            SetInt(raw, SOL_NETLINK, NETLINK_EXT_ACK, 1, required: false);
            SetInt(raw, SOL_NETLINK, NETLINK_CAP_ACK, 1, required: false);
            if (protocol == Nl.NETLINK_ROUTE) SetInt(raw, SOL_NETLINK, NETLINK_GET_STRICT_CHK, 1, required: false);
            // Large WireGuard configurations and big dumps: room for several datagrams in flight.
            SetInt(raw, SOL_SOCKET, SO_SNDBUF, 1 << 20, required: false);
            SetInt(raw, SOL_SOCKET, SO_RCVBUF, 1 << 20, required: false);
            long* tv = stackalloc long[2] { ReceiveTimeoutSeconds, 0 };
            Native.Check(Native.setsockopt(raw, SOL_SOCKET, SO_RCVTIMEO, tv, 16), "setsockopt SO_RCVTIMEO");

            var addr = new SockAddrNl { Family = Sockets.AF_NETLINK };
            Native.Check(bind(raw, &addr, (uint)sizeof(SockAddrNl)), "bind netlink");
            uint len = (uint)sizeof(SockAddrNl);
            Native.Check(getsockname(raw, &addr, &len), "getsockname netlink");
            return new NetlinkSocket(fd, protocol, addr.Pid);
        }
        catch
        {
            fd.Dispose();
            throw;
        }
    }

    private static void SetInt(int fd, int level, int option, int value, bool required)
    {
        if (Native.setsockopt(fd, level, option, &value, sizeof(int)) < 0 && required)
            throw LibcException.FromLastError($"setsockopt {level}/{option}");
    }

    /// <summary>
    /// Sends <paramref name="request"/> (REQUEST|ACK are added) and returns every data message of the reply;
    /// throws <see cref="NetlinkException"/> naming <paramref name="operation"/> when the kernel refuses.
    /// <paramref name="interrupted"/> reports NLM_F_DUMP_INTR on any part of a dump.
    /// </summary>
    public List<NetlinkMessage> Execute(NetlinkMessageBuilder request, string operation, out bool interrupted)
    {
        lock (_gate)
        {
            uint seq = NextSeq();
            Send(request.Finish(seq), operation);
            return Receive(seq, operation, out interrupted);
        }
    }

    /// <summary>Sends without reading the reply: an abandoned request, whose late reply the next call must skip (tests).</summary>
    internal void SendAndAbandon(NetlinkMessageBuilder request)
    {
        lock (_gate)
        {
            Send(request.Finish(NextSeq()), "abandoned request");
        }
    }

    /// <inheritdoc cref="Execute(NetlinkMessageBuilder, string, out bool)"/>
    public List<NetlinkMessage> Execute(NetlinkMessageBuilder request, string operation) => Execute(request, operation, out _);

    /// <summary>A dump, repeated (up to <paramref name="attempts"/> times) while the kernel flags it inconsistent.</summary>
    public List<NetlinkMessage> Dump(NetlinkMessageBuilder request, string operation, int attempts = 10)
    {
        for (int attempt = 1; ; attempt++)
        {
            var messages = Execute(request, operation, out bool interrupted);
            if (!MustRepeat(interrupted, attempt, attempts, operation)) return messages;
        }
    }

    /// <summary>The next request's sequence number; under <c>_gate</c>. Never 0, which is what notifications carry.</summary>
    private uint NextSeq()
    {
        uint seq = ++_seq;
        return seq == 0 ? ++_seq : seq;
    }

    /// <summary>Whether a dump must run again: the kernel flagged it inconsistent, and attempts are left (else it throws).</summary>
    private bool MustRepeat(bool interrupted, int attempt, int attempts, string operation)
    {
        if (!interrupted) return false;
        Interlocked.Increment(ref _interruptedDumps);
        if (attempt >= attempts)
            throw new NetlinkException(operation, Errno.EINTR, $"dump still inconsistent (NLM_F_DUMP_INTR) after {attempts} attempts");
        return true;
    }

    private void Send(ReadOnlySpan<byte> message, string operation)
    {
        var kernel = new SockAddrNl { Family = Sockets.AF_NETLINK };
        fixed (byte* p = message)
        {
            while (true)
            {
                nint n = sendto(_fd.Fd, p, (nuint)message.Length, 0, &kernel, (uint)sizeof(SockAddrNl));
                if (n >= 0) return;
                int errno = Marshal.GetLastPInvokeError();
                if (errno == Errno.EINTR) continue;
                throw new NetlinkException($"{operation} (send)", errno);
            }
        }
    }

    private List<NetlinkMessage> Receive(uint seq, string operation, out bool interrupted)
    {
        var results = new List<NetlinkMessage>();
        interrupted = false;
        while (true)
        {
            int n = ReceiveDatagram(operation);
            if (n < 0) continue; // not from the kernel
            // One copy per datagram: the messages handed out slice it, the receive buffer is reused.
            var datagram = _receive.AsSpan(0, n).ToArray();
            if (Parse(datagram, datagram, seq, operation, ref interrupted, results, null)) return results;
        }
    }

    /// <summary>
    /// Like <see cref="Receive"/>, handing each data message's payload to <paramref name="each"/> straight from the
    /// receive buffer: nothing is copied or kept.
    /// </summary>
    private void ReceiveEach(uint seq, string operation, MessageHandler each, out bool interrupted)
    {
        interrupted = false;
        System.Runtime.ExceptionServices.ExceptionDispatchInfo? failure = null;
        // A handler that throws stops being called, but the reply is still read to its end (no EBUSY next time).
        MessageHandler guarded = (type, payload) =>
        {
            if (failure is not null) return;
            try { each(type, payload); }
            catch (Exception e) { failure = System.Runtime.ExceptionServices.ExceptionDispatchInfo.Capture(e); }
        };
        while (true)
        {
            int n = ReceiveDatagram(operation);
            if (n < 0) continue;
            if (Parse(_receive.AsSpan(0, n), null, seq, operation, ref interrupted, null, guarded)) break;
        }
        failure?.Throw();
    }

    /// <summary>A data message of a reply, valid only during the call.</summary>
    public delegate void MessageHandler(ushort type, ReadOnlySpan<byte> payload);

    /// <summary>
    /// A dump whose messages go to <paramref name="each"/> as they arrive (see <see cref="MessageHandler"/>), repeated
    /// while the kernel flags it inconsistent: <paramref name="begin"/> runs before every attempt, so the caller starts
    /// over.
    /// </summary>
    public void DumpEach(NetlinkMessageBuilder request, string operation, Action begin, MessageHandler each, int attempts = 10)
    {
        for (int attempt = 1; ; attempt++)
        {
            begin();
            bool interrupted;
            lock (_gate)
            {
                uint seq = NextSeq();
                Send(request.Finish(seq), operation);
                ReceiveEach(seq, operation, each, out interrupted);
            }
            if (!MustRepeat(interrupted, attempt, attempts, operation)) return;
        }
    }

    /// <summary>
    /// The messages of one datagram: data messages of this request go to <paramref name="results"/> (slices of
    /// <paramref name="owned"/>, the caller's own copy of <paramref name="datagram"/>) or to <paramref name="each"/>.
    /// True at the reply's end (ACK, error, NLMSG_DONE).
    /// </summary>
    private bool Parse(ReadOnlySpan<byte> datagram, byte[]? owned, uint seq, string operation, ref bool interrupted,
        List<NetlinkMessage>? results, MessageHandler? each)
    {
        int n = datagram.Length, offset = 0;
        while (n - offset >= Nl.HeaderLength)
        {
            var h = datagram[offset..];
            int len = (int)BinaryPrimitives.ReadUInt32LittleEndian(h);
            if (len < Nl.HeaderLength || len > n - offset)
                throw new NetlinkException(operation, Errno.EIO, $"malformed reply: message length {len} with {n - offset} bytes left");
            ushort type = BinaryPrimitives.ReadUInt16LittleEndian(h[4..]);
            ushort flags = BinaryPrimitives.ReadUInt16LittleEndian(h[6..]);
            uint mseq = BinaryPrimitives.ReadUInt32LittleEndian(h[8..]);
            uint pid = BinaryPrimitives.ReadUInt32LittleEndian(h[12..]);
            int start = offset + Nl.HeaderLength;
            var payload = datagram.Slice(start, len - Nl.HeaderLength);
            offset += Nl.Align(len);

            // A late reply to an abandoned request, or a notification: not ours.
            if (mseq != seq || pid != PortId) continue;
            if ((flags & Nl.F_DUMP_INTR) != 0) interrupted = true;
            switch (type)
            {
                case Nl.NLMSG_NOOP:
                    continue;
                case Nl.NLMSG_ERROR:
                    ThrowIfError(payload, flags, operation, isDone: false);
                    return true;
                case Nl.NLMSG_DONE:
                    if (payload.Length >= 4) ThrowIfError(payload, flags, operation, isDone: true);
                    return true;
                case Nl.NLMSG_OVERRUN:
                    throw new NetlinkException(operation, Errno.ENOBUFS, "NLMSG_OVERRUN: data lost");
                default:
                    if (each is not null) each(type, payload);
                    else results!.Add(new NetlinkMessage(type, flags, mseq, owned.AsMemory(start, payload.Length)));
                    break;
            }
        }
        return false;
    }

    /// <summary>Reads one datagram into the receive buffer, growing it first so it never truncates. -1: not from the kernel.</summary>
    private int ReceiveDatagram(string operation)
    {
        var from = new SockAddrNl();
        byte probe;
        var iov = new Native.IoVec { Base = &probe, Length = 1 };
        var msg = new Native.MsgHdr { Name = &from, NameLen = (uint)sizeof(SockAddrNl), Iov = &iov, IovLen = 1 };
        int size = RecvMsg(&msg, MSG_PEEK | MSG_TRUNC, operation);
        if (size > _receive.Length) _receive = GC.AllocateUninitializedArray<byte>(Math.Max(size, _receive.Length * 2), pinned: true);

        fixed (byte* p = _receive)
        {
            iov = new Native.IoVec { Base = p, Length = (nuint)_receive.Length };
            msg = new Native.MsgHdr { Name = &from, NameLen = (uint)sizeof(SockAddrNl), Iov = &iov, IovLen = 1 };
            int n = RecvMsg(&msg, 0, operation);
            if ((msg.Flags & MSG_TRUNC) != 0) throw new NetlinkException(operation, Errno.EMSGSIZE, "reply datagram truncated");
            return from.Pid == 0 ? n : -1;
        }
    }

    private int RecvMsg(Native.MsgHdr* msg, int flags, string operation)
    {
        while (true)
        {
            nint n = Native.recvmsg(_fd.Fd, msg, flags);
            if (n >= 0) return (int)n;
            int errno = Marshal.GetLastPInvokeError();
            if (errno == Errno.EINTR) continue;
            if (errno == Errno.EAGAIN) throw new NetlinkException(operation, errno, $"no reply from the kernel within {ReceiveTimeoutSeconds} s");
            throw new NetlinkException($"{operation} (receive)", errno);
        }
    }

    /// <summary>
    /// NLMSG_ERROR: s32 error, the request's header (+ its payload unless CAPPED), then ext-ack TLVs.
    /// NLMSG_DONE: s32 error, then ext-ack TLVs.
    /// </summary>
    private static void ThrowIfError(ReadOnlySpan<byte> payload, ushort flags, string operation, bool isDone)
    {
        int error = BinaryPrimitives.ReadInt32LittleEndian(payload);
        if (error == 0) return;
        string? message = null;
        int? offset = null;
        if ((flags & Nl.F_ACK_TLVS) != 0)
        {
            int tlvStart = 4;
            if (!isDone)
            {
                int requestLength = payload.Length >= 8 ? (int)BinaryPrimitives.ReadUInt32LittleEndian(payload[4..]) : 0;
                tlvStart = 4 + ((flags & Nl.F_CAPPED) != 0 ? Nl.HeaderLength : Nl.Align(requestLength));
            }
            if (tlvStart <= payload.Length)
            {
                var attrs = new NetlinkAttributeReader(payload[tlvStart..]);
                while (attrs.Next(out ushort type, out var value))
                {
                    if (type == Nl.NLMSGERR_ATTR_MSG) message = Nla.String(value);
                    else if (type == Nl.NLMSGERR_ATTR_OFFS && value.Length >= 4) offset = (int)Nla.U32(value);
                }
            }
        }
        throw new NetlinkException(operation, -error, message, offset);
    }

    public void Dispose() => _fd.Dispose();
}
