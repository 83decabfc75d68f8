using System.Runtime.InteropServices;
using Kraud.Libc;

namespace Kraud.Vmm.Devices.Virtio.Net;

/// <summary>
/// A queue of a tap interface, opened through /dev/net/tun with a virtio-net header on every frame, so frames
/// pass between the tap and a virtio-net queue without translation. The interface may already exist.
/// </summary>
public sealed unsafe class Tap : IDisposable
{
    private const nuint TunSetVnetHdrSz = 0x400454d8;
    /// <summary>struct virtio_net_hdr_v1: the header size once VIRTIO_F_VERSION_1 is negotiated.</summary>
    public const int VnetHeaderSize = 12;

    private readonly FileDescriptor _fd;

    public Tap(string name)
    {
        if (name.Length == 0) throw new ArgumentException("a tap name is required", nameof(name));
        // Retries EBUSY for a second: the agent that created the tap may have forked a child just as it closed its fd.
        _fd = TunTap.Attach(name, TapFlags.VnetHeader, out _, nonBlocking: true);
        try
        {
            int hdr = VnetHeaderSize;
            Native.Check(Native.ioctl(_fd.Fd, TunSetVnetHdrSz, &hdr), "TUNSETVNETHDRSZ");
        }
        catch
        {
            _fd.Dispose();
            throw;
        }
        Name = name;
    }

    public string Name { get; }
    public int Fd => _fd.Fd;

    /// <summary>Reads one frame with its virtio-net header; 0 when none is waiting.</summary>
    public int Read(Span<byte> buffer)
    {
        fixed (byte* p = buffer)
        {
            nint n = Native.read(Fd, p, buffer.Length);
            if (n >= 0) return (int)n;
            int errno = Marshal.GetLastPInvokeError();
            if (errno == Errno.EAGAIN) return 0;
            throw new LibcException($"read tap {Name}", errno);
        }
    }

    /// <summary>Writes one frame that starts with its virtio-net header; a full tap queue drops it, as a wire would.</summary>
    public void Write(ReadOnlySpan<byte> frame)
    {
        fixed (byte* p = frame)
        {
            if (Native.write(Fd, p, frame.Length) >= 0) return;
            int errno = Marshal.GetLastPInvokeError();
            if (errno is Errno.EAGAIN or Errno.EIO) return;
            throw new LibcException($"write tap {Name}", errno);
        }
    }

    public void Dispose() => _fd.Dispose();
}
