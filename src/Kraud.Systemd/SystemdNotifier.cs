using System.Net.Sockets;
using System.Text;

namespace Kraud.Systemd;

/// <summary>
/// sd_notify(3) over $NOTIFY_SOCKET: READY=1, STATUS=, STOPPING=1, WATCHDOG=1. A path starting with '@'
/// is an abstract socket. Without NOTIFY_SOCKET every call is a no-op, so the daemon runs the same
/// under systemd, under a test, or in a terminal.
/// </summary>
public sealed class SystemdNotifier : IDisposable
{
    private readonly Socket? _socket;
    private readonly UnixDomainSocketEndPoint? _endpoint;
    private readonly Lock _gate = new();

    public SystemdNotifier(string? notifySocket)
    {
        if (string.IsNullOrEmpty(notifySocket)) return;
        // Abstract namespace: systemd writes '@', the kernel wants a leading NUL.
        string path = notifySocket[0] == '@' ? "\0" + notifySocket[1..] : notifySocket;
        _endpoint = new UnixDomainSocketEndPoint(path);
        _socket = new Socket(AddressFamily.Unix, SocketType.Dgram, ProtocolType.Unspecified);
    }

    /// <summary>Reads $NOTIFY_SOCKET from the environment.</summary>
    public static SystemdNotifier FromEnvironment() => new(Environment.GetEnvironmentVariable("NOTIFY_SOCKET"));

    public bool IsEnabled => _socket is not null;

    public void Ready(string status) => Notify($"READY=1\nSTATUS={status}");

    public void Status(string status) => Notify("STATUS=" + status);

    public void Stopping(string status) => Notify($"STOPPING=1\nSTATUS={status}");

    public void Watchdog() => Notify("WATCHDOG=1");

    /// <summary>Sends one datagram of newline-separated assignments. Failures are returned, never thrown:
    /// losing a status line must not take the daemon down.</summary>
    public bool Notify(string state)
    {
        if (_socket is null || _endpoint is null) return false;
        byte[] bytes = Encoding.UTF8.GetBytes(state);
        lock (_gate)
        {
            try
            {
                _socket.SendTo(bytes, SocketFlags.None, _endpoint);
                return true;
            }
            catch (SocketException)
            {
                return false;
            }
            catch (ObjectDisposedException)
            {
                return false;
            }
        }
    }

    public void Dispose() => _socket?.Dispose();
}
