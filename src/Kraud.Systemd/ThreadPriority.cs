using System.Runtime.InteropServices;

namespace Kraud.Systemd;

/// <summary>Raises the calling thread's scheduling priority (nice -10) when the process may; .NET's Thread.Priority is a no-op on Linux.</summary>
internal static partial class ThreadPriority
{
    private const int PRIO_PROCESS = 0;
    private const long SYS_gettid = 186;

    [LibraryImport("libc", SetLastError = true)]
    private static partial int setpriority(int which, uint who, int prio);

    [LibraryImport("libc")]
    private static partial long syscall(long number);

    public static bool TryRaiseCurrentThread() => setpriority(PRIO_PROCESS, (uint)syscall(SYS_gettid), -10) == 0;
}
