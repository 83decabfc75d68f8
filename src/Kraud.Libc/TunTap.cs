using System.Text;

namespace Kraud.Libc;

/// <summary>Flags of a tap device (ifr_flags of TUNSETIFF).</summary>
[Flags]
public enum TapFlags : short
{
    None = 0,
    MultiQueue = 0x100,
    VnetHeader = 0x4000,
}

/// <summary>
/// Tap devices through /dev/net/tun (rtnetlink cannot create them). The device is born in the network
/// namespace of the thread that opens /dev/net/tun: pass a <see cref="NetNs"/> to create it elsewhere.
/// </summary>
public static unsafe class TunTap
{
    public const nuint TUNSETIFF = 0x400454CA, TUNSETPERSIST = 0x400454CB, TUNSETOWNER = 0x400454CC,
        TUNSETGROUP = 0x400454CE, TUNGETIFF = 0x800454D2;
    public const short IFF_TAP = 0x2, IFF_NO_PI = 0x1000;

    /// <summary>IFF_TUN_EXCL: TUNSETIFF fails with EBUSY when a device of the name exists instead of attaching to it.</summary>
    private const short IFF_TUN_EXCL = unchecked((short)0x8000);
    private const int IfReqSize = 40, IfNameSize = 16;

    /// <summary>
    /// Creates a persistent tap owned by <paramref name="ownerUid"/> (and <paramref name="ownerGid"/>) and closes
    /// the agent's fd again, so the VMM can attach with its own TUNSETIFF. Returns the kernel's name for it.
    /// Only a new device: one of the name that exists already is someone else's (a tap carries no mark of the
    /// agent's), so it is refused (<see cref="LibcException"/> EEXIST, naming it) and left as it is, never attached
    /// to and re-owned.
    /// </summary>
    public static string CreatePersistent(string name, TapFlags flags = TapFlags.VnetHeader, uint? ownerUid = null,
        uint? ownerGid = null, NetNs? ns = null)
    {
        string Create()
        {
            FileDescriptor created;
            string actual;
            try { created = Open(name, flags, out actual, nonBlocking: false, exclusive: true); }
            catch (LibcException e) when (e.Errno == Errno.EBUSY)
            {
                throw new LibcException($"create tap {name}: it exists and is not kraud's; left untouched", Errno.EEXIST);
            }
            using var fd = created;
            if (ownerUid is { } uid) Native.Check(Native.ioctl(fd.Fd, TUNSETOWNER, (nuint)uid), $"TUNSETOWNER {actual}");
            if (ownerGid is { } gid) Native.Check(Native.ioctl(fd.Fd, TUNSETGROUP, (nuint)gid), $"TUNSETGROUP {actual}");
            Native.Check(Native.ioctl(fd.Fd, TUNSETPERSIST, 1), $"TUNSETPERSIST {actual}");
            return actual;
        }
        return ns is null ? Create() : ns.Run(Create);
    }

    /// <summary>
    /// Attaches to (or creates, non-persistent) tap <paramref name="name"/>: the queue fd a VMM reads and writes.
    /// EBUSY is retried for a second: a process forked by the one that last held the tap (any child process
    /// start) keeps a copy of its just-closed fd until it execs, and the tap stays attached until then.
    /// </summary>
    public static FileDescriptor Attach(string name, TapFlags flags, out string actualName, bool nonBlocking = false) =>
        Open(name, flags, out actualName, nonBlocking, exclusive: false);

    /// <summary><paramref name="exclusive"/>: create only (IFF_TUN_EXCL); EBUSY at once when the device exists.</summary>
    private static FileDescriptor Open(string name, TapFlags flags, out string actualName, bool nonBlocking, bool exclusive)
    {
        if (Encoding.UTF8.GetByteCount(name) >= IfNameSize) throw new ArgumentException($"tap name '{name}' longer than 15 bytes", nameof(name));
        int raw = Native.open("/dev/net/tun", Native.O_RDWR | (nonBlocking ? Native.O_NONBLOCK : 0));
        if (raw < 0) throw LibcException.FromLastError("open /dev/net/tun");
        var fd = new FileDescriptor(raw);
        try
        {
            byte* ifr = stackalloc byte[IfReqSize];
            new Span<byte>(ifr, IfReqSize).Clear();
            Encoding.UTF8.GetBytes(name, new Span<byte>(ifr, IfNameSize - 1));
            *(short*)(ifr + IfNameSize) = (short)(IFF_TAP | IFF_NO_PI | (short)flags | (exclusive ? IFF_TUN_EXCL : 0));
            long deadline = Environment.TickCount64 + 1000;
            while (Native.ioctl(fd.Fd, TUNSETIFF, ifr) < 0)
            {
                var error = LibcException.FromLastError($"TUNSETIFF {name}");
                if (error.Errno != Errno.EBUSY || exclusive || Environment.TickCount64 >= deadline) throw error;
                Thread.Sleep(5);
            }
            var nameSpan = new ReadOnlySpan<byte>(ifr, IfNameSize);
            int nul = nameSpan.IndexOf((byte)0);
            actualName = Encoding.UTF8.GetString(nul < 0 ? nameSpan : nameSpan[..nul]);
            return fd;
        }
        catch
        {
            fd.Dispose();
            throw;
        }
    }

    /// <summary>Removes a persistent tap by clearing its persist flag (rtnetlink RTM_DELLINK works too).</summary>
    public static void DeletePersistent(string name, TapFlags flags = TapFlags.VnetHeader, NetNs? ns = null)
    {
        void Delete()
        {
            using var fd = Attach(name, flags, out string actual);
            Native.Check(Native.ioctl(fd.Fd, TUNSETPERSIST, 0), $"TUNSETPERSIST 0 {actual}");
        }
        if (ns is null) Delete(); else ns.Run(Delete);
    }
}
