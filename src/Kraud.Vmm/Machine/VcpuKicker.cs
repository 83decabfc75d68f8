using System.Runtime.InteropServices;
using Kraud.Libc;

namespace Kraud.Vmm.Machine;

/// <summary>
/// Interrupts a vCPU thread blocked in KVM_RUN: a real-time signal whose handler does nothing, so the ioctl
/// returns EINTR. The handler is libc's getpid (async-signal-safe, ignores its argument) rather than managed
/// code, which must never run in a signal context.
/// </summary>
internal static unsafe class VcpuKicker
{
    private static readonly Lazy<int> Signal = new(Install);

    public static void Kick(nuint thread) => ThreadSignals.pthread_kill(thread, Signal.Value);

    /// <summary>Installs the handler; call before vCPU threads start so a kick never meets the default action.</summary>
    public static void EnsureInstalled() => _ = Signal.Value;

    private static int Install()
    {
        int sig = ThreadSignals.__libc_current_sigrtmin() + 6;
        var libc = NativeLibrary.Load("libc.so.6");
        var action = new ThreadSignals.SigAction { Handler = (delegate* unmanaged<int, void>)NativeLibrary.GetExport(libc, "getpid") };
        Native.Check(ThreadSignals.sigaction(sig, &action, null), "sigaction");
        return sig;
    }
}
