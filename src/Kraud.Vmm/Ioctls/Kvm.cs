using System.Runtime.InteropServices;
using Kraud.Libc;

namespace Kraud.Vmm.Ioctls;

/// <summary>The KVM system descriptor (/dev/kvm): version and capability checks, VM creation, supported CPUID.</summary>
public sealed unsafe class Kvm : IDisposable
{
    private readonly FileDescriptor _fd;

    private Kvm(FileDescriptor fd) => _fd = fd;

    /// <summary>Opens /dev/kvm and insists on API version 12, the only one Linux has ever shipped.</summary>
    public static Kvm Open(string path = "/dev/kvm")
    {
        var fd = new FileDescriptor(Native.Check(Native.open(path, Native.O_RDWR), $"open {path}"));
        var kvm = new Kvm(fd);
        int version = Native.ioctl(fd.Fd, KvmIoctlNumbers.GetApiVersion, 0);
        if (version != KvmIoctlNumbers.ApiVersion)
        {
            kvm.Dispose();
            throw new KvmException($"KVM API version {version}, need {KvmIoctlNumbers.ApiVersion}");
        }
        return kvm;
    }

    public int Fd => _fd.Fd;

    /// <summary>KVM_CHECK_EXTENSION: 0 when absent, else a capability-specific positive value.</summary>
    public int CheckExtension(int capability) => Native.ioctl(Fd, KvmIoctlNumbers.CheckExtension, (nuint)capability);

    /// <summary>Throws naming the first capability the host lacks.</summary>
    public void Require(params (int Cap, string Name)[] capabilities)
    {
        foreach (var (cap, name) in capabilities)
            if (CheckExtension(cap) <= 0) throw new KvmException($"KVM lacks {name}");
    }

    /// <summary>The size of the kvm_run area each vCPU fd maps.</summary>
    public int VcpuMmapSize => Native.Check(Native.ioctl(Fd, KvmIoctlNumbers.GetVcpuMmapSize, 0), "KVM_GET_VCPU_MMAP_SIZE");

    /// <summary>KVM_GET_SUPPORTED_CPUID: every leaf the host can offer a guest.</summary>
    public KvmCpuidEntry[] GetSupportedCpuid()
    {
        const int max = 256;
        int size = 8 + max * sizeof(KvmCpuidEntry);
        byte* buf = (byte*)NativeMemory.AllocZeroed((nuint)size);
        try
        {
            *(uint*)buf = max;
            Native.Check(Native.ioctl(Fd, KvmIoctlNumbers.GetSupportedCpuid, buf), "KVM_GET_SUPPORTED_CPUID");
            int n = (int)*(uint*)buf;
            return new ReadOnlySpan<KvmCpuidEntry>(buf + 8, n).ToArray();
        }
        finally
        {
            NativeMemory.Free(buf);
        }
    }

    public Vm CreateVm()
    {
        int vmFd = Native.Check(Native.ioctl(Fd, KvmIoctlNumbers.CreateVm, 0), "KVM_CREATE_VM");
        return new Vm(new FileDescriptor(vmFd), VcpuMmapSize);
    }

    public void Dispose() => _fd.Dispose();
}
