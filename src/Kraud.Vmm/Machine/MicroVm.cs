using Kraud.Vmm.Devices;
using Kraud.Vmm.Launch;
using Kraud.Vmm.Memory;
using Microsoft.Extensions.Logging;

namespace Kraud.Vmm.Machine;

/// <summary>
/// One assembled VM and its life: what <see cref="MicroVmBuilder"/> put together (KVM objects, guest memory with
/// the kernel, the port and MMIO buses with their devices, the event loop, one <see cref="VcpuLoop"/> per vCPU),
/// run by <see cref="Run"/> until the first reason to stop, which becomes the exit code.
/// </summary>
internal sealed class MicroVm : IDisposable
{
    private readonly List<IDisposable> _owned = [];
    private readonly ManualResetEventSlim _built = new();
    private readonly Thread _loopThread;
    private int _exitCode = -1;
    private long _mmioExits, _notifyExits;

    private MicroVm(ILogger logger, object scope)
    {
        Logger = logger;
        Scope = scope;
        _loopThread = new Thread(() =>
        {
            _built.Wait();
            Started?.Invoke();
            Guard("event loop", Events.Run);
        }) { Name = "vmm-events", IsBackground = true };
    }

    public ILogger Logger { get; }

    /// <summary>The log scope of this VM's lines (Kind = vm, Id): KRAUD_KIND and KRAUD_ID in the journal.</summary>
    public object Scope { get; }

    public Bus Io { get; } = new();
    public Bus Mmio { get; } = new();
    public EventLoop Events { get; } = new();
    public List<VcpuLoop> Vcpus { get; } = [];
    public GuestMemory Memory { get; set; } = null!;
    public SerialConsole Console { get; set; } = null!;

    /// <summary>Run by the event loop's thread once the vCPUs run (the "vm started" line, off the path to the guest).</summary>
    public Action? Started { get; set; }

    /// <summary>Builds the VM for <paramref name="launch"/>; on failure everything built so far is released.</summary>
    public static MicroVm Create(LaunchFile launch, ILogger logger, object scope)
    {
        var vm = new MicroVm(logger, scope);
        // The event loop's thread starts while KVM builds the VM (its ioctls wait on the host kernel), off the
        // path to the first guest instruction; it waits for the build before polling.
        vm._loopThread.Start();
        try
        {
            MicroVmBuilder.Build(vm, launch);
            return vm;
        }
        catch
        {
            vm.Events.Stop();
            vm._built.Set();
            vm._loopThread.Join();
            vm.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Counts an MMIO exit, and apart the queue-notify writes among them: with every queue's notify on an
    /// ioeventfd the latter stay 0, which the "vm ended" line shows (and the tests check).
    /// </summary>
    public void CountMmioExit(ulong address, bool write)
    {
        Interlocked.Increment(ref _mmioExits);
        if (write && address >= Boot.X86Layout.VirtioMmioBase && address < Boot.X86Layout.MmioGapEnd
            && (address - Boot.X86Layout.VirtioMmioBase) % Boot.X86Layout.VirtioMmioSize == Devices.Virtio.MmioTransport.QueueNotifyOffset)
            Interlocked.Increment(ref _notifyExits);
    }

    /// <summary>
    /// A device lost what serves it (a share's back end died): a warning in the journal under the VM's scope and a
    /// line in the serial log; the VM runs on. Any thread.
    /// </summary>
    public void ReportDeviceTrouble(string what)
    {
        using (Logger.BeginScope(Scope)) Logger.LogWarning("{Trouble}", what);
        Console.Note(what);
    }

    /// <summary>Disposed with the VM, in reverse order of ownership.</summary>
    public T Own<T>(T item) where T : IDisposable
    {
        _owned.Add(item);
        return item;
    }

    /// <summary>Records the first reason to stop and tells every thread.</summary>
    public void Stop(int exitCode, string reason)
    {
        if (Interlocked.CompareExchange(ref _exitCode, exitCode, -1) != -1) return;
        using (Logger.BeginScope(Scope)) Logger.LogInformation("vm stopping: {Reason} (exit {ExitCode})", reason, exitCode);
        Events.Stop();
        foreach (var vcpu in Vcpus) vcpu.Kick();
    }

    public bool Stopping => Volatile.Read(ref _exitCode) != -1;

    /// <summary>
    /// Runs the VM to its end and blocks until then: the calling thread (a dedicated one, never the thread pool)
    /// becomes vCPU 0, so no thread start stands between the build and the first guest instruction; the other
    /// vCPUs get threads of their own. <paramref name="guestRunning"/> runs on vCPU 0's thread right before its
    /// first KVM_RUN (<see cref="VcpuLoop.Run"/> says why there).
    /// </summary>
    public int Run(CancellationToken cancellation, Action? guestRunning)
    {
        using var registration = cancellation.Register(() => Stop(VmmExitCode.Stopped, "stop requested"));
        _built.Set();
        var threads = new List<Thread> { _loopThread };
        foreach (var vcpu in Vcpus.Skip(1))
        {
            var t = new Thread(() => Guard($"vcpu {vcpu.Id}", () => vcpu.Run(null))) { Name = $"vcpu-{vcpu.Id}", IsBackground = true };
            threads.Add(t);
            t.UnsafeStart();
        }
        Guard("vcpu 0", () => Vcpus[0].Run(guestRunning));
        foreach (var t in threads) t.Join();
        Console.Flush();
        using (Logger.BeginScope(Scope))
            Logger.LogInformation("vm ended: {MmioExits} MMIO exits, {NotifyExits} of them queue notifications", Interlocked.Read(ref _mmioExits), Interlocked.Read(ref _notifyExits));
        return _exitCode;
    }

    /// <summary>Runs a thread's body; an exception is a bug of ours: logged with its stack, and the VM stops with 1.</summary>
    private void Guard(string what, Action body)
    {
        try
        {
            body();
        }
        catch (Exception e)
        {
            using (Logger.BeginScope(Scope)) Logger.LogError(e, "{What} failed", what);
            Stop(VmmExitCode.InternalError, $"{what} failed: {e.Message}");
        }
    }

    public void Dispose()
    {
        for (int i = _owned.Count - 1; i >= 0; i--) _owned[i].Dispose();
        Events.Dispose();
        _built.Dispose();
    }
}
