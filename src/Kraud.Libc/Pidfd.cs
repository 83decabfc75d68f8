using System.Runtime.InteropServices;

namespace Kraud.Libc;

/// <summary>pidfd_open(2): a file descriptor for a process that need not be a child, readable once it has exited.</summary>
public static unsafe partial class Pidfd
{
    private const long SYS_pidfd_send_signal = 424, SYS_pidfd_open = 434;

    [LibraryImport("libc", EntryPoint = "syscall", SetLastError = true)]
    private static partial long syscall2(long number, int pid, uint flags);

    [LibraryImport("libc", EntryPoint = "syscall", SetLastError = true)]
    private static partial long syscall4(long number, int pidfd, int sig, nint info, uint flags);

    /// <summary>A pidfd of <paramref name="pid"/> (always close-on-exec), or -1 with errno (ESRCH: no such process).</summary>
    public static int Open(int pid) => (int)syscall2(SYS_pidfd_open, pid, 0);

    /// <summary>
    /// pidfd_send_signal(2): signals the process of <paramref name="pidfd"/>, never another one that reused its pid.
    /// 0, or -1 with errno (ESRCH: it has exited).
    /// </summary>
    public static int SendSignal(int pidfd, int signal) => (int)syscall4(SYS_pidfd_send_signal, pidfd, signal, 0, 0);

    /// <summary>
    /// Blocks the calling thread until the process of <paramref name="pidfd"/> has exited or <paramref name="ct"/> is
    /// cancelled (checked every <paramref name="checkMs"/>). Returns true when it exited.
    /// </summary>
    public static bool WaitExited(int pidfd, CancellationToken ct, int checkMs = 200)
    {
        var p = new Poll.PollFd { Fd = pidfd, Events = Poll.POLLIN };
        while (!ct.IsCancellationRequested)
        {
            int n = Poll.poll(&p, 1, checkMs);
            if (n > 0) return true;
            if (n < 0 && Marshal.GetLastPInvokeError() != Errno.EINTR) throw LibcException.FromLastError("poll(pidfd)");
        }
        return false;
    }
}
