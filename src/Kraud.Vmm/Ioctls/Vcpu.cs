using Kraud.Libc;

namespace Kraud.Vmm.Ioctls;

/// <summary>A vCPU descriptor with its mapped kvm_run area: register access and KVM_RUN exit decoding.</summary>
public sealed unsafe class Vcpu : IDisposable
{
    // Offsets into struct kvm_run (linux/kvm.h).
    private const int ImmediateExitOffset = 1, ExitReasonOffset = 8, UnionOffset = 32;

    private const uint ExitIo = 2, ExitHlt = 5, ExitMmio = 6, ExitShutdown = 8, ExitFailEntry = 9, ExitIntr = 10,
        ExitInternalError = 17, ExitSystemEvent = 24;

    private readonly FileDescriptor _fd;
    private readonly byte* _run;
    private readonly int _runSize;

    internal Vcpu(int id, FileDescriptor fd, int mmapSize)
    {
        Id = id;
        _fd = fd;
        _runSize = mmapSize;
        _run = (byte*)Native.mmap(null, (nuint)mmapSize, Native.PROT_READ | Native.PROT_WRITE, Native.MAP_SHARED, fd.Fd, 0);
        if (_run == (byte*)-1)
        {
            var error = LibcException.FromLastError("mmap kvm_run");
            fd.Dispose();
            throw error;
        }
    }

    public int Id { get; }

    public int Fd => _fd.Fd;

    public KvmRegs GetRegs() { KvmRegs r; Io(KvmIoctlNumbers.GetRegs, &r, "KVM_GET_REGS"); return r; }
    public void SetRegs(in KvmRegs regs) { fixed (KvmRegs* p = &regs) Io(KvmIoctlNumbers.SetRegs, p, "KVM_SET_REGS"); }
    public KvmSregs GetSregs() { KvmSregs s; Io(KvmIoctlNumbers.GetSregs, &s, "KVM_GET_SREGS"); return s; }
    public void SetSregs(in KvmSregs sregs) { fixed (KvmSregs* p = &sregs) Io(KvmIoctlNumbers.SetSregs, p, "KVM_SET_SREGS"); }
    public KvmFpu GetFpu() { KvmFpu f; Io(KvmIoctlNumbers.GetFpu, &f, "KVM_GET_FPU"); return f; }
    public void SetFpu(in KvmFpu fpu) { fixed (KvmFpu* p = &fpu) Io(KvmIoctlNumbers.SetFpu, p, "KVM_SET_FPU"); }
    public KvmLapicState GetLapic() { KvmLapicState l; Io(KvmIoctlNumbers.GetLapic, &l, "KVM_GET_LAPIC"); return l; }
    public void SetLapic(in KvmLapicState lapic) { fixed (KvmLapicState* p = &lapic) Io(KvmIoctlNumbers.SetLapic, p, "KVM_SET_LAPIC"); }

    /// <summary>KVM_SET_CPUID2: the CPUID leaves this vCPU reports.</summary>
    public void SetCpuid(ReadOnlySpan<KvmCpuidEntry> entries)
    {
        int size = 8 + entries.Length * sizeof(KvmCpuidEntry);
        byte* buf = stackalloc byte[size];
        *(uint*)buf = (uint)entries.Length;
        *(uint*)(buf + 4) = 0;
        entries.CopyTo(new Span<KvmCpuidEntry>(buf + 8, entries.Length));
        Io(KvmIoctlNumbers.SetCpuid2, buf, "KVM_SET_CPUID2");
    }

    /// <summary>KVM_SET_MSRS; returns how many KVM accepted (it stops at the first it refuses).</summary>
    public int SetMsrs(ReadOnlySpan<KvmMsrEntry> entries)
    {
        int size = 8 + entries.Length * sizeof(KvmMsrEntry);
        byte* buf = stackalloc byte[size];
        *(uint*)buf = (uint)entries.Length;
        *(uint*)(buf + 4) = 0;
        entries.CopyTo(new Span<KvmMsrEntry>(buf + 8, entries.Length));
        return Native.Check(Native.ioctl(Fd, KvmIoctlNumbers.SetMsrs, buf), "KVM_SET_MSRS");
    }

    /// <summary>
    /// Makes the next (or current) KVM_RUN return at once with <see cref="VcpuExitKind.Interrupted"/>; a signal
    /// to the vCPU thread interrupts a run already under way.
    /// </summary>
    public bool ImmediateExit
    {
        get => Volatile.Read(ref _run[ImmediateExitOffset]) != 0;
        set => Volatile.Write(ref _run[ImmediateExitOffset], value ? (byte)1 : (byte)0);
    }

    /// <summary>Runs the vCPU until KVM needs the monitor, and decodes why.</summary>
    public VcpuExit Run()
    {
        if (Native.ioctl(Fd, KvmIoctlNumbers.Run, 0) < 0)
        {
            int errno = System.Runtime.InteropServices.Marshal.GetLastPInvokeError();
            if (errno is Errno.EINTR or Errno.EAGAIN)
                return new VcpuExit(VcpuExitKind.Interrupted, 0, default, 0, ExitIntr, 0);
            throw new LibcException("KVM_RUN", errno);
        }
        uint reason = *(uint*)(_run + ExitReasonOffset);
        byte* u = _run + UnionOffset;
        switch (reason)
        {
            case ExitIo:
            {
                byte direction = u[0], size = u[1];
                ushort port = *(ushort*)(u + 2);
                uint count = *(uint*)(u + 4);
                ulong dataOffset = *(ulong*)(u + 8);
                if (dataOffset + (ulong)size * count > (ulong)_runSize) throw new InvalidOperationException("KVM_EXIT_IO data outside kvm_run");
                var data = new Span<byte>(_run + dataOffset, size * (int)count);
                return new VcpuExit(direction == 1 ? VcpuExitKind.IoOut : VcpuExitKind.IoIn, port, data, count, reason, 0);
            }
            case ExitMmio:
            {
                ulong address = *(ulong*)u;
                uint len = Math.Min(*(uint*)(u + 16), 8u);
                bool write = u[20] != 0;
                return new VcpuExit(write ? VcpuExitKind.MmioWrite : VcpuExitKind.MmioRead, address, new Span<byte>(u + 8, (int)len), 1, reason, 0);
            }
            case ExitHlt: return new VcpuExit(VcpuExitKind.Hlt, 0, default, 0, reason, 0);
            case ExitShutdown: return new VcpuExit(VcpuExitKind.Shutdown, 0, default, 0, reason, 0);
            case ExitFailEntry: return new VcpuExit(VcpuExitKind.FailEntry, 0, default, 0, reason, *(ulong*)u);
            case ExitInternalError: return new VcpuExit(VcpuExitKind.InternalError, 0, default, 0, reason, *(uint*)u);
            case ExitSystemEvent: return new VcpuExit(VcpuExitKind.SystemEvent, 0, default, 0, reason, *(uint*)u);
            case ExitIntr: return new VcpuExit(VcpuExitKind.Interrupted, 0, default, 0, reason, 0);
            default: return new VcpuExit(VcpuExitKind.Unknown, 0, default, 0, reason, 0);
        }
    }

    private void Io(nuint request, void* arg, string name) => Native.Check(Native.ioctl(Fd, request, arg), name);

    public void Dispose()
    {
        Native.munmap(_run, (nuint)_runSize);
        _fd.Dispose();
    }
}
