using System.Collections.Concurrent;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using System.Text;

namespace Kraud.Testing;

/// <summary>
/// Plays systemd's side of sd_notify: a datagram socket the test owns (a path, or abstract when
/// <paramref name="abstractName"/> is true) that records every message with the kernel's arrival time
/// (SO_TIMESTAMPNS), so a busy test process reading late does not distort the gaps it measures.
/// </summary>
public sealed unsafe partial class NotifyListener : IDisposable
{
    private const int SOL_SOCKET = 1, SO_TIMESTAMPNS = 35;

    private readonly Socket _socket;
    private readonly ConcurrentQueue<(TimeSpan At, string Text)> _messages = new();
    private readonly Thread _loop;
    private readonly string? _path;

    public NotifyListener(bool abstractName = false)
    {
        string name = $"kraud-notify-{Environment.ProcessId}-{Guid.NewGuid():N}";
        _socket = new Socket(AddressFamily.Unix, SocketType.Dgram, ProtocolType.Unspecified);
        if (abstractName)
        {
            _socket.Bind(new UnixDomainSocketEndPoint("\0" + name));
            Address = "@" + name;
        }
        else
        {
            _path = System.IO.Path.Combine(System.IO.Path.GetTempPath(), name + ".sock");
            _socket.Bind(new UnixDomainSocketEndPoint(_path));
            Address = _path;
        }
        int on = 1;
        setsockopt((int)_socket.Handle, SOL_SOCKET, SO_TIMESTAMPNS, &on, sizeof(int));
        _loop = new Thread(Loop) { IsBackground = true, Name = "notify-listener" };
        _loop.Start();
    }

    /// <summary>The value for NOTIFY_SOCKET.</summary>
    public string Address { get; }

    /// <summary>Every assignment received (one entry per line of each datagram), in order, with its arrival time.</summary>
    public IReadOnlyList<(TimeSpan At, string Text)> Messages => _messages.ToArray();

    public bool Has(string assignment) => Messages.Any(m => m.Text == assignment);

    public int IndexOf(Func<string, bool> match)
    {
        var all = Messages;
        for (int i = 0; i < all.Count; i++) if (match(all[i].Text)) return i;
        return -1;
    }

    private void Loop()
    {
        byte* buffer = stackalloc byte[65536];
        byte* control = stackalloc byte[128];
        while (true)
        {
            var iov = new IoVec { Base = buffer, Length = 65536 };
            var msg = new MsgHdr { Iov = &iov, IovLen = 1, Control = control, ControlLen = 128 };
            nint n = recvmsg((int)_socket.Handle, &msg, 0);
            if (n < 0) return; // socket closed
            TimeSpan at = TimeSpan.FromTicks(DateTime.UtcNow.Ticks);
            if (msg.ControlLen >= 16 && *(int*)(control + 8) == SOL_SOCKET && *(int*)(control + 12) == SO_TIMESTAMPNS)
            {
                long sec = *(long*)(control + 16), nsec = *(long*)(control + 24);
                at = TimeSpan.FromTicks(sec * TimeSpan.TicksPerSecond + nsec / 100);
            }
            foreach (string line in Encoding.UTF8.GetString(buffer, (int)n).Split('\n', StringSplitOptions.RemoveEmptyEntries))
                _messages.Enqueue((at, line));
        }
    }

    public void Dispose()
    {
        shutdown((int)_socket.Handle, 2);
        _socket.Dispose();
        _loop.Join(TimeSpan.FromSeconds(2));
        if (_path is not null) File.Delete(_path);
    }

    [StructLayout(LayoutKind.Sequential)]
    private struct IoVec { public void* Base; public nuint Length; }

    [StructLayout(LayoutKind.Sequential)]
    private struct MsgHdr { public void* Name; public uint NameLen; public IoVec* Iov; public nuint IovLen; public void* Control; public nuint ControlLen; public int Flags; }

    [LibraryImport("libc", SetLastError = true)]
    private static partial nint recvmsg(int fd, MsgHdr* msg, int flags);

    [LibraryImport("libc", SetLastError = true)]
    private static partial int setsockopt(int fd, int level, int name, void* value, uint len);

    [LibraryImport("libc")]
    private static partial int shutdown(int fd, int how);
}
