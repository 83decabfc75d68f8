using System.Text;
using Kraud.Libc;

namespace Kraud.Systemd;

/// <summary>
/// sd_notify(3) over $NOTIFY_SOCKET: READY=1, STATUS=, STOPPING=1, WATCHDOG=1. A path starting with '@'
/// is an abstract socket. Without NOTIFY_SOCKET every call is a no-op, so the daemon runs the same
/// under systemd, under a test, or in a terminal.
/// </summary>
public sealed class SystemdNotifier : IDisposable
{
    private readonly UnixDatagramSocket? _socket;

    public SystemdNotifier(string? notifySocket)
    {
        if (!string.IsNullOrEmpty(notifySocket)) _socket = new UnixDatagramSocket(notifySocket);
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
    public bool Notify(string state) => _socket is not null && _socket.TrySend(Encoding.UTF8.GetBytes(state)) == 0;

    public void Dispose() => _socket?.Dispose();
}
