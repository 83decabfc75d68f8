using Kraud.Libc;
using Kraud.Vmm.Ioctls;
using Microsoft.Extensions.Logging;

namespace Kraud.Vmm.Machine;

/// <summary>
/// One vCPU's thread: KVM_RUN until the VM stops, each exit handed to the port or MMIO bus, a fatal exit turned
/// into a register dump and exit 70 (Firecracker's vstate/vcpu.rs).
/// </summary>
internal sealed class VcpuLoop(Vcpu vcpu, MicroVm vm)
{
    private nuint _thread; // pthread_t of the thread in Run, for Kick

    public int Id => vcpu.Id;

    /// <summary>
    /// Runs until the VM stops. <paramref name="beforeFirstEntry"/> runs once, right before the first KVM_RUN, and
    /// not at all when the VM stops first. Right before, not after: KVM_RUN does not return while the guest runs
    /// (a guest that computes or halts in the kernel may not exit for a long time), and no other thread can tell
    /// that the entry happened. Here every refusal (exit 65, 69) is behind us, the guest has not run an
    /// instruction yet, and only the ioctl is left: whoever is told hears it before any guest output.
    /// </summary>
    public void Run(Action? beforeFirstEntry)
    {
        Volatile.Write(ref _thread, ThreadSignals.pthread_self());
        while (!vm.Stopping)
        {
            if (beforeFirstEntry != null)
            {
                beforeFirstEntry();
                beforeFirstEntry = null;
            }
            var exit = vcpu.Run();
            switch (exit.Kind)
            {
                case VcpuExitKind.IoOut:
                case VcpuExitKind.IoIn:
                {
                    int size = exit.Data.Length / (int)Math.Max(exit.Count, 1);
                    for (int i = 0; i < exit.Count; i++)
                    {
                        var item = exit.Data.Slice(i * size, size);
                        if (exit.Kind == VcpuExitKind.IoOut) vm.Io.Write(exit.Address, item);
                        else vm.Io.Read(exit.Address, item);
                    }
                    break;
                }
                case VcpuExitKind.MmioWrite:
                    vm.CountMmioExit(exit.Address, write: true);
                    vm.Mmio.Write(exit.Address, exit.Data);
                    break;
                case VcpuExitKind.MmioRead:
                    vm.CountMmioExit(exit.Address, write: false);
                    vm.Mmio.Read(exit.Address, exit.Data);
                    break;
                case VcpuExitKind.Hlt:
                case VcpuExitKind.Interrupted:
                    break;
                case VcpuExitKind.SystemEvent when exit.Detail is 1 or 2: // SHUTDOWN, RESET
                    vm.Stop(VmmExitCode.PowerOff, "guest powered off (system event)");
                    break;
                default:
                    Fatal(exit.Kind, exit.RawReason, exit.Detail);
                    return;
            }
        }
    }

    /// <summary>
    /// Gets the vCPU out of KVM_RUN: immediate_exit makes the next entry return at once, and the signal interrupts
    /// one under way. A thread that has not recorded itself yet meets immediate_exit at its first entry.
    /// </summary>
    public void Kick()
    {
        vcpu.ImmediateExit = true;
        nuint t = Volatile.Read(ref _thread);
        if (t != 0) VcpuKicker.Kick(t);
    }

    private void Fatal(VcpuExitKind kind, uint reason, ulong detail)
    {
        string what = kind switch
        {
            VcpuExitKind.Shutdown => "triple fault (KVM_EXIT_SHUTDOWN)",
            VcpuExitKind.FailEntry => $"entry failed (KVM_EXIT_FAIL_ENTRY, hardware reason 0x{detail:x})",
            VcpuExitKind.InternalError => $"KVM internal error (suberror {detail})",
            _ => $"unexpected exit {kind} (reason {reason}, detail 0x{detail:x})",
        };
        using (vm.Logger.BeginScope(vm.Scope))
            vm.Logger.LogError("guest failed: {What}\n{Registers}", what, RegisterDump.Format(vcpu, vm.Memory));
        vm.Stop(VmmExitCode.GuestFault, what);
    }
}
