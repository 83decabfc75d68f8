using Kraud.Libc;

namespace Kraud.Systemd;

/// <summary>
/// Sends WATCHDOG=1 while the daemon is healthy. systemd asks for a ping at least every half of WATCHDOG_USEC;
/// we ping every quarter, on a fixed schedule, so a loaded host delaying one wake-up does not stretch a gap past
/// the half. A dedicated thread with a raised priority (where allowed) keeps the pings on time when the thread
/// pool is busy; the health check keeps them honest (a wedged engine stops the pings).
/// </summary>
public sealed class WatchdogPinger : IDisposable
{
    private readonly SystemdNotifier _notifier;
    private readonly Func<bool> _isHealthy;
    private readonly TimeSpan _interval;
    private readonly CancellationTokenSource _stop = new();
    private Thread? _thread;

    public WatchdogPinger(SystemdNotifier notifier, TimeSpan watchdogTimeout, Func<bool> isHealthy)
    {
        _notifier = notifier;
        _isHealthy = isHealthy;
        _interval = watchdogTimeout / 4;
    }

    public TimeSpan Interval => _interval;

    /// <summary>
    /// The watchdog timeout systemd set for this process: WATCHDOG_USEC, honoured only when WATCHDOG_PID is
    /// absent or names us (a child must not ping for its parent).
    /// </summary>
    public static TimeSpan? TimeoutFromEnvironment()
    {
        string? usec = Environment.GetEnvironmentVariable("WATCHDOG_USEC");
        if (!ulong.TryParse(usec, out ulong us) || us == 0) return null;
        string? pid = Environment.GetEnvironmentVariable("WATCHDOG_PID");
        if (!string.IsNullOrEmpty(pid) && (!int.TryParse(pid, out int p) || p != Native.getpid())) return null;
        return TimeSpan.FromMicroseconds(us);
    }

    public void Start()
    {
        _thread = new Thread(Loop) { IsBackground = true, Name = "systemd-watchdog" };
        _thread.Start();
    }

    private void Loop()
    {
        ThreadPriority.TryRaiseCurrentThread();
        var wait = _stop.Token.WaitHandle;
        long next = Environment.TickCount64;
        do
        {
            if (_isHealthy()) _notifier.Watchdog();
            next += (long)_interval.TotalMilliseconds;
            long now = Environment.TickCount64;
            if (next < now) next = now; // we were late: do not burst to catch up
            if (wait.WaitOne(TimeSpan.FromMilliseconds(next - now))) return;
        }
        while (true);
    }

    public void Dispose()
    {
        _stop.Cancel();
        _thread?.Join();
        _stop.Dispose();
    }
}
