namespace Kraud.Vmm.Ioctls;

/// <summary>The KVM ioctl request numbers (linux/kvm.h), built the way the kernel's _IO/_IOR/_IOW macros build them.</summary>
internal static class KvmIoctlNumbers
{
    private const uint KVMIO = 0xAE;

    private static nuint Io(uint nr) => (KVMIO << 8) | nr;
    private static nuint Ior(uint nr, int size) => (2u << 30) | ((uint)size << 16) | (KVMIO << 8) | nr;
    private static nuint Iow(uint nr, int size) => (1u << 30) | ((uint)size << 16) | (KVMIO << 8) | nr;
    private static nuint Iowr(uint nr, int size) => (3u << 30) | ((uint)size << 16) | (KVMIO << 8) | nr;

    public static readonly nuint GetApiVersion = Io(0x00);
    public static readonly nuint CreateVm = Io(0x01);
    public static readonly nuint CheckExtension = Io(0x03);
    public static readonly nuint GetVcpuMmapSize = Io(0x04);
    public static readonly nuint GetSupportedCpuid = Iowr(0x05, 8);
    public static readonly nuint CreateVcpu = Io(0x41);
    public static readonly nuint SetUserMemoryRegion = Iow(0x46, 32);
    public static readonly nuint SetTssAddr = Io(0x47);
    public static readonly nuint SetIdentityMapAddr = Iow(0x48, 8);
    public static readonly nuint CreateIrqchip = Io(0x60);
    public static readonly nuint IrqLine = Iow(0x61, 8);
    public static readonly nuint Irqfd = Iow(0x76, 32);
    public static readonly nuint CreatePit2 = Iow(0x77, 64);
    public static readonly nuint Ioeventfd = Iow(0x79, 64);
    public static readonly nuint Run = Io(0x80);
    public static readonly nuint GetRegs = Ior(0x81, 144);
    public static readonly nuint SetRegs = Iow(0x82, 144);
    public static readonly nuint GetSregs = Ior(0x83, 312);
    public static readonly nuint SetSregs = Iow(0x84, 312);
    public static readonly nuint GetMsrs = Iowr(0x88, 8);
    public static readonly nuint SetMsrs = Iow(0x89, 8);
    public static readonly nuint GetFpu = Ior(0x8c, 416);
    public static readonly nuint SetFpu = Iow(0x8d, 416);
    public static readonly nuint GetLapic = Ior(0x8e, 1024);
    public static readonly nuint SetLapic = Iow(0x8f, 1024);
    public static readonly nuint SetCpuid2 = Iow(0x90, 8);

    public const int ApiVersion = 12;

    // KVM_CAP_* values used to check the host before building a VM.
    public const int CapIrqchip = 0, CapUserMemory = 3, CapSetTssAddr = 4, CapExtCpuid = 7, CapIrqRouting = 25,
        CapIoeventfd = 36, CapSetIdentityMapAddr = 37, CapIrqfd = 32, CapPit2 = 33, CapImmediateExit = 136;
}
