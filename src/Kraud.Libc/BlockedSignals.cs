using System.Runtime.InteropServices;

namespace Kraud.Libc;

/// <summary>
/// Signals taken synchronously: blocked in every thread and collected by one thread of our own in sigwaitinfo,
/// so no handler runs in a signal context and no thread pool is needed (PosixSignalRegistration dispatches on
/// the thread pool). The mask must be set before the process has other threads, which for a .NET binary means
/// in an ELF constructor (kraud-vmm's C/signals.c); threads inherit it.
/// </summary>
public static unsafe partial class BlockedSignals
{
    public const int SIGHUP = 1, SIGINT = 2, SIGPIPE = 13, SIGTERM = 15;
    private const int SIG_BLOCK = 0;

    [StructLayout(LayoutKind.Sequential, Size = 128)]
    private struct SigSet { private ulong _first; }

    [LibraryImport("libc", SetLastError = true)]
    private static partial int sigemptyset(SigSet* set);

    [LibraryImport("libc", SetLastError = true)]
    private static partial int sigaddset(SigSet* set, int signal);

    [LibraryImport("libc")]
    private static partial int sigismember(SigSet* set, int signal);

    [LibraryImport("libc")]
    private static partial int pthread_sigmask(int how, SigSet* set, SigSet* old);

    [LibraryImport("libc", SetLastError = true)]
    private static partial int sigwaitinfo(SigSet* set, void* info);

    /// <summary>True when every one of <paramref name="signals"/> is blocked in the calling thread.</summary>
    public static bool AreBlocked(ReadOnlySpan<int> signals)
    {
        SigSet current;
        if (pthread_sigmask(SIG_BLOCK, null, &current) != 0) return false;
        foreach (int s in signals)
            if (sigismember(&current, s) != 1) return false;
        return true;
    }

    /// <summary>Blocks <paramref name="signals"/> in the calling thread (and the threads it starts later).</summary>
    public static void Block(ReadOnlySpan<int> signals)
    {
        SigSet set = Set(signals);
        int error = pthread_sigmask(SIG_BLOCK, &set, null);
        if (error != 0) throw new LibcException("pthread_sigmask", error);
    }

    /// <summary>
    /// Starts a background thread that calls <paramref name="onSignal"/> with each of <paramref name="signals"/>
    /// as it arrives. The signals must be blocked in every thread (<see cref="AreBlocked"/>), or some other thread
    /// may take the default action first.
    /// </summary>
    public static Thread StartWaiter(int[] signals, Action<int> onSignal)
    {
        var thread = new Thread(() =>
        {
            SigSet set = Set(signals);
            while (true)
            {
                int signal = sigwaitinfo(&set, null);
                if (signal > 0) onSignal(signal);
                else if (Marshal.GetLastPInvokeError() != Errno.EINTR) return;
            }
        }) { IsBackground = true, Name = "signals" };
        thread.Start();
        return thread;
    }

    private static SigSet Set(ReadOnlySpan<int> signals)
    {
        SigSet set;
        sigemptyset(&set);
        foreach (int s in signals) sigaddset(&set, s);
        return set;
    }
}
