using System.Buffers.Binary;
using Kraud.Libc;

namespace Kraud.Vmm.Devices.Virtio.VhostUser;

/// <summary>
/// The front end's side of the vhost-user protocol (QEMU docs/interop/vhost-user.rst) over one connected unix
/// socket: a 12-byte header (request, flags, size) and a little-endian payload, file descriptors as SCM_RIGHTS
/// beside it. Only the requests a virtio device with shared guest memory needs. With REPLY_ACK negotiated every
/// request that has no reply of its own asks for an ack, so a back end that refuses (a memory table it cannot
/// map) is an exception here rather than a queue that silently never moves. Not thread-safe: one caller at a time.
/// </summary>
public sealed class VhostUserFrontend : IDisposable
{
    private enum Request : uint
    {
        GetFeatures = 1, SetFeatures = 2, SetOwner = 3, SetMemTable = 5, SetVringNum = 8, SetVringAddr = 9,
        SetVringBase = 10, GetVringBase = 11, SetVringKick = 12, SetVringCall = 13, GetProtocolFeatures = 15,
        SetProtocolFeatures = 16, SetVringEnable = 18,
    }

    private const uint FlagVersion = 1, FlagReply = 4, FlagNeedReply = 8;
    private const int HeaderSize = 12;

    /// <summary>VHOST_USER_F_PROTOCOL_FEATURES: a vhost-user bit among the virtio features, never the guest's.</summary>
    public const ulong ProtocolFeaturesBit = 1UL << 30;

    private const ulong ProtocolReplyAck = 1UL << 3;
    private const ulong VringNoFd = 1UL << 8;

    private readonly UnixStreamSocket _socket;
    private bool _replyAck;

    private VhostUserFrontend(UnixStreamSocket socket) => _socket = socket;

    /// <summary>The back end's virtio features (with <see cref="ProtocolFeaturesBit"/> when it speaks protocol features).</summary>
    public ulong BackendFeatures { get; private set; }

    public int SocketFd => _socket.Fd;

    /// <summary>True when the back end closed its end (it exited or was killed); never blocks.</summary>
    public bool PeerClosed() => _socket.PeerClosed();

    /// <summary>
    /// Connects, takes ownership (SET_OWNER), reads the back end's features and negotiates REPLY_ACK. A socket that is
    /// not there yet (ENOENT) or not listening yet (ECONNREFUSED) is tried again until <paramref name="wait"/> is over:
    /// its daemon may be restarting beside a restarting VM.
    /// </summary>
    public static VhostUserFrontend Connect(string socketPath, TimeSpan wait)
    {
        var until = DateTime.UtcNow + wait;
        UnixStreamSocket socket;
        while (true)
        {
            try
            {
                socket = UnixStreamSocket.Connect(socketPath);
                break;
            }
            catch (LibcException e) when (e.Errno is Errno.ENOENT or Errno.ECONNREFUSED && DateTime.UtcNow < until)
            {
                Thread.Sleep(10); // the VM is not built yet; nothing else waits on this thread
            }
        }
        var frontend = new VhostUserFrontend(socket);
        try
        {
            frontend.Send(Request.SetOwner, [], []);
            frontend.BackendFeatures = frontend.GetU64(Request.GetFeatures);
            if ((frontend.BackendFeatures & ProtocolFeaturesBit) != 0)
            {
                ulong protocol = frontend.GetU64(Request.GetProtocolFeatures) & ProtocolReplyAck;
                frontend.SetU64(Request.SetProtocolFeatures, protocol);
                frontend._replyAck = (protocol & ProtocolReplyAck) != 0;
            }
            return frontend;
        }
        catch
        {
            frontend.Dispose();
            throw;
        }
    }

    /// <summary>SET_FEATURES: what the guest's driver accepted, plus the protocol-features bit when the back end has it.</summary>
    public void SetFeatures(ulong features) => SetU64(Request.SetFeatures, features | (BackendFeatures & ProtocolFeaturesBit));

    /// <summary>One region of guest RAM for SET_MEM_TABLE: where the guest and we see it, and where it is in the fd.</summary>
    public readonly record struct MemoryRegion(ulong GuestPhysAddr, ulong Size, ulong UserAddr, ulong FileOffset, int Fd);

    public void SetMemTable(IReadOnlyList<MemoryRegion> regions)
    {
        var payload = new byte[8 + 32 * regions.Count];
        BinaryPrimitives.WriteUInt32LittleEndian(payload, (uint)regions.Count);
        var fds = new int[regions.Count];
        for (int i = 0; i < regions.Count; i++)
        {
            var r = regions[i];
            var entry = payload.AsSpan(8 + 32 * i);
            BinaryPrimitives.WriteUInt64LittleEndian(entry, r.GuestPhysAddr);
            BinaryPrimitives.WriteUInt64LittleEndian(entry[8..], r.Size);
            BinaryPrimitives.WriteUInt64LittleEndian(entry[16..], r.UserAddr);
            BinaryPrimitives.WriteUInt64LittleEndian(entry[24..], r.FileOffset);
            fds[i] = r.Fd;
        }
        SendExpectingAck(Request.SetMemTable, payload, fds);
    }

    public void SetVringNum(int queue, uint size) => SetState(Request.SetVringNum, queue, size);

    public void SetVringBase(int queue, uint index) => SetState(Request.SetVringBase, queue, index);

    public void SetVringEnable(int queue, bool enable) => SetState(Request.SetVringEnable, queue, enable ? 1u : 0u);

    /// <summary>SET_VRING_ADDR: the rings' addresses in OUR address space; the back end translates them by the memory table.</summary>
    public void SetVringAddr(int queue, ulong desc, ulong used, ulong avail)
    {
        var payload = new byte[40];
        BinaryPrimitives.WriteUInt32LittleEndian(payload, (uint)queue);
        BinaryPrimitives.WriteUInt64LittleEndian(payload.AsSpan(8), desc);
        BinaryPrimitives.WriteUInt64LittleEndian(payload.AsSpan(16), used);
        BinaryPrimitives.WriteUInt64LittleEndian(payload.AsSpan(24), avail);
        SendExpectingAck(Request.SetVringAddr, payload, []);
    }

    /// <summary>SET_VRING_KICK: the eventfd KVM signals on the guest's queue-notify write (KVM_IOEVENTFD).</summary>
    public void SetVringKick(int queue, int eventFd) => SetVringFd(Request.SetVringKick, queue, eventFd);

    /// <summary>SET_VRING_CALL: the eventfd the back end signals for a used buffer, an irqfd into the guest.</summary>
    public void SetVringCall(int queue, int eventFd) => SetVringFd(Request.SetVringCall, queue, eventFd);

    /// <summary>GET_VRING_BASE: stops the queue in the back end and returns its next available index.</summary>
    public uint GetVringBase(int queue)
    {
        Span<byte> state = stackalloc byte[8];
        BinaryPrimitives.WriteUInt32LittleEndian(state, (uint)queue);
        Send(Request.GetVringBase, state, []);
        var reply = ReceiveReply(Request.GetVringBase);
        return reply.Length >= 8 ? BinaryPrimitives.ReadUInt32LittleEndian(reply.AsSpan(4)) : 0;
    }

    private void SetVringFd(Request request, int queue, int eventFd)
    {
        Span<byte> payload = stackalloc byte[8];
        BinaryPrimitives.WriteUInt64LittleEndian(payload, (uint)queue | (eventFd < 0 ? VringNoFd : 0));
        SendExpectingAck(request, payload, eventFd < 0 ? [] : [eventFd]);
    }

    private void SetState(Request request, int queue, uint num)
    {
        Span<byte> state = stackalloc byte[8];
        BinaryPrimitives.WriteUInt32LittleEndian(state, (uint)queue);
        BinaryPrimitives.WriteUInt32LittleEndian(state[4..], num);
        SendExpectingAck(request, state, []);
    }

    private void SetU64(Request request, ulong value)
    {
        Span<byte> payload = stackalloc byte[8];
        BinaryPrimitives.WriteUInt64LittleEndian(payload, value);
        SendExpectingAck(request, payload, []);
    }

    private ulong GetU64(Request request)
    {
        Send(request, [], []);
        var reply = ReceiveReply(request);
        if (reply.Length != 8) throw new InvalidDataException($"vhost-user {request}: reply of {reply.Length} bytes, expected 8");
        return BinaryPrimitives.ReadUInt64LittleEndian(reply);
    }

    private void SendExpectingAck(Request request, ReadOnlySpan<byte> payload, ReadOnlySpan<int> fds)
    {
        Send(request, payload, fds, _replyAck ? FlagNeedReply : 0);
        if (!_replyAck) return;
        var reply = ReceiveReply(request);
        ulong status = reply.Length == 8 ? BinaryPrimitives.ReadUInt64LittleEndian(reply) : ulong.MaxValue;
        if (status != 0) throw new InvalidDataException($"vhost-user back end refused {request} (status {status})");
    }

    private void Send(Request request, ReadOnlySpan<byte> payload, ReadOnlySpan<int> fds, uint flags = 0)
    {
        var message = new byte[HeaderSize + payload.Length];
        BinaryPrimitives.WriteUInt32LittleEndian(message, (uint)request);
        BinaryPrimitives.WriteUInt32LittleEndian(message.AsSpan(4), FlagVersion | flags);
        BinaryPrimitives.WriteUInt32LittleEndian(message.AsSpan(8), (uint)payload.Length);
        payload.CopyTo(message.AsSpan(HeaderSize));
        _socket.Send(message, fds);
    }

    private byte[] ReceiveReply(Request request)
    {
        Span<byte> header = stackalloc byte[HeaderSize];
        _socket.ReceiveExactly(header);
        uint got = BinaryPrimitives.ReadUInt32LittleEndian(header);
        uint flags = BinaryPrimitives.ReadUInt32LittleEndian(header[4..]);
        uint size = BinaryPrimitives.ReadUInt32LittleEndian(header[8..]);
        if (got != (uint)request || (flags & FlagReply) == 0 || size > 4096)
            throw new InvalidDataException($"vhost-user {request}: unexpected reply (request {got}, flags 0x{flags:x}, size {size})");
        var payload = new byte[size];
        _socket.ReceiveExactly(payload);
        return payload;
    }

    public void Dispose() => _socket.Dispose();
}
