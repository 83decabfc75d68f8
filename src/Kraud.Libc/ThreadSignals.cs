using System.Runtime.InteropServices;

namespace Kraud.Libc;

/// <summary>
/// Signals aimed at one thread rather than the process: a handler installed with sigaction, and pthread_kill to a
/// thread by its pthread_t (the VMM kicks a vCPU thread out of KVM_RUN this way). Process-wide signals taken
/// synchronously are <see cref="BlockedSignals"/>.
/// </summary>
public static unsafe partial class ThreadSignals
{
    private const string Lib = "libc";

    /// <summary>struct sigaction as glibc lays it out on x86-64 (handler, 128-byte mask, flags, restorer).</summary>
    [StructLayout(LayoutKind.Sequential, Size = 152)]
    public struct SigAction
    {
        public delegate* unmanaged<int, void> Handler;
        public fixed ulong Mask[16];
        public int Flags;
        private int _pad;
        public void* Restorer;
    }

    [LibraryImport(Lib)]
    public static partial nuint pthread_self();

    /// <summary>Returns an errno value (not -1) on failure, as pthread functions do.</summary>
    [LibraryImport(Lib)]
    public static partial int pthread_kill(nuint thread, int sig);

    [LibraryImport(Lib, SetLastError = true)]
    public static partial int sigaction(int sig, SigAction* act, SigAction* oldact);

    /// <summary>SIGRTMIN as glibc defines it at run time (it keeps the first few real-time signals for itself).</summary>
    [LibraryImport(Lib)]
    public static partial int __libc_current_sigrtmin();
}
