using Kraud.Vmm.Ioctls;

namespace Kraud.Vmm.Boot;

/// <summary>
/// Puts a vCPU in the state Linux's 64-bit boot protocol expects: long mode with paging on the identity tables,
/// flat segments from <see cref="BootStructures.Gdt"/>, interrupts off, RSI = boot_params; or the PVH boot ABI's:
/// 32-bit protected mode with paging off, flat 32-bit segments, interrupts off, EBX = hvm_start_info. Plus the
/// CPUID, MSR, FPU and local APIC values Firecracker gives its guests.
/// </summary>
public static class VcpuSetup
{
    private const ulong Cr0Pe = 1, Cr0Mp = 2, Cr0Et = 0x10, Cr0Ne = 0x20, Cr0Wp = 0x10000, Cr0Am = 0x40000, Cr0Pg = 0x8000_0000;
    private const ulong Cr4Pae = 0x20;
    private const ulong EferLme = 0x100, EferLma = 0x400;

    /// <summary>CPUID as the host supports it, with this vCPU's APIC id and the hypervisor bit.</summary>
    public static KvmCpuidEntry[] Cpuid(KvmCpuidEntry[] supported, int vcpuId, int vcpuCount)
    {
        var entries = (KvmCpuidEntry[])supported.Clone();
        for (int i = 0; i < entries.Length; i++)
        {
            ref var e = ref entries[i];
            switch (e.Function)
            {
                case 1:
                    e.Ebx = (e.Ebx & 0x0000ffff) | ((uint)vcpuId << 24) | ((uint)Math.Min(vcpuCount, 255) << 16);
                    e.Ecx |= 1u << 31; // running under a hypervisor
                    break;
                case 0xb:
                case 0x1f:
                    e.Edx = (uint)vcpuId; // x2APIC id
                    break;
            }
        }
        return entries;
    }

    /// <summary>The boot MSRs: syscall and sysenter state cleared, fast strings on, write-back default memory type.</summary>
    public static KvmMsrEntry[] BootMsrs() =>
    [
        new(0x174, 0), // IA32_SYSENTER_CS
        new(0x175, 0), // IA32_SYSENTER_ESP
        new(0x176, 0), // IA32_SYSENTER_EIP
        new(0xc0000081, 0), // STAR
        new(0xc0000082, 0), // LSTAR
        new(0xc0000083, 0), // CSTAR
        new(0xc0000084, 0), // SYSCALL_MASK
        new(0xc0000102, 0), // KERNEL_GS_BASE
        new(0x10, 0), // TSC
        new(0x1a0, 1), // MISC_ENABLE: fast string operations
        new(0x2ff, (1 << 11) | 6), // MTRRdefType: enabled, write-back
    ];

    public static KvmFpu Fpu() => new() { Fcw = 0x37f, Mxcsr = 0x1f80 };

    public static KvmRegs Regs(ulong entry, ulong bootParams) => new()
    {
        Rip = entry, Rsi = bootParams, Rsp = X86Layout.BootStackPointer, Rbp = X86Layout.BootStackPointer, Rflags = 2,
    };

    /// <summary>PVH: the entry and hvm_start_info in EBX; the stack is the kernel's to set up.</summary>
    public static KvmRegs PvhRegs(ulong entry, ulong startInfo) => new() { Rip = entry, Rbx = startInfo, Rflags = 2 };

    /// <summary>PVH: CR0.PE only (ET is fixed to 1 by the CPU), CR4 and EFER clear, flat 32-bit CS/DS/ES/SS, a 32-bit TSS.</summary>
    public static KvmSregs ProtectedModeSregs(KvmSregs sregs)
    {
        sregs = FlatSegments(sregs, BootStructures.Code32Selector, BootStructures.Tss32Selector);
        sregs.Cr0 = Cr0Pe | Cr0Et;
        sregs.Cr3 = 0;
        sregs.Cr4 = 0;
        sregs.Efer = 0;
        return sregs;
    }

    public static KvmSregs LongModeSregs(KvmSregs sregs)
    {
        sregs = FlatSegments(sregs, BootStructures.CodeSelector, BootStructures.TssSelector);
        sregs.Cr3 = X86Layout.Pml4Address;
        sregs.Cr4 |= Cr4Pae;
        sregs.Cr0 = Cr0Pe | Cr0Mp | Cr0Et | Cr0Ne | Cr0Wp | Cr0Am | Cr0Pg;
        sregs.Efer |= EferLme | EferLma;
        return sregs;
    }

    /// <summary>The kvm_segment a GDT entry describes, as the CPU would load it for <paramref name="selector"/>.</summary>
    /// <summary>Both entries: our GDT and empty IDT, the given code and TSS selectors, flat data in the rest.</summary>
    private static KvmSregs FlatSegments(KvmSregs sregs, ushort code, ushort tss)
    {
        sregs.Cs = Segment(BootStructures.Gdt, code);
        sregs.Ds = sregs.Es = sregs.Fs = sregs.Gs = sregs.Ss = Segment(BootStructures.Gdt, BootStructures.DataSelector);
        sregs.Tr = Segment(BootStructures.Gdt, tss);
        sregs.Gdt = new KvmDtable { Base = X86Layout.GdtAddress, Limit = (ushort)(BootStructures.Gdt.Length * 8 - 1) };
        sregs.Idt = new KvmDtable { Base = X86Layout.IdtAddress, Limit = 7 };
        return sregs;
    }

    public static KvmSegment Segment(ulong[] gdt, ushort selector)
    {
        ulong d = gdt[selector >> 3];
        uint limit = (uint)((d & 0xffff) | ((d >> 32) & 0xf0000));
        bool granular = ((d >> 55) & 1) != 0;
        return new KvmSegment
        {
            Base = ((d >> 16) & 0xffffff) | ((d >> 32) & 0xff000000),
            Limit = granular ? (limit << 12) | 0xfff : limit,
            Selector = selector,
            Type = (byte)((d >> 40) & 0xf),
            S = (byte)((d >> 44) & 1),
            Dpl = (byte)((d >> 45) & 3),
            Present = (byte)((d >> 47) & 1),
            Avl = (byte)((d >> 52) & 1),
            L = (byte)((d >> 53) & 1),
            Db = (byte)((d >> 54) & 1),
            G = granular ? (byte)1 : (byte)0,
        };
    }

    /// <summary>LINT0 as ExtINT (the PIC's output) and LINT1 as NMI, the wiring Linux expects of a PC.</summary>
    public static unsafe KvmLapicState Lapic(KvmLapicState lapic)
    {
        SetDeliveryMode(ref lapic, 0x350, 7);
        SetDeliveryMode(ref lapic, 0x360, 4);
        return lapic;
    }

    private static unsafe void SetDeliveryMode(ref KvmLapicState lapic, int register, uint mode)
    {
        fixed (byte* regs = lapic.Regs)
        {
            uint* r = (uint*)(regs + register);
            *r = (*r & ~0x700u) | (mode << 8);
        }
    }

    /// <summary>Everything above for a 64-bit entry, applied to one vCPU; returns how many of the boot MSRs KVM accepted.</summary>
    public static int Apply(Vcpu vcpu, KvmCpuidEntry[] supportedCpuid, int vcpuCount, ulong entry) =>
        Apply(vcpu, supportedCpuid, vcpuCount, entry, EntryMode.LongMode);

    /// <summary>Everything above, applied to one vCPU for the given entry mode; returns how many of the boot MSRs KVM accepted.</summary>
    public static int Apply(Vcpu vcpu, KvmCpuidEntry[] supportedCpuid, int vcpuCount, ulong entry, EntryMode mode)
    {
        vcpu.SetCpuid(Cpuid(supportedCpuid, vcpu.Id, vcpuCount));
        var msrs = BootMsrs();
        int accepted = vcpu.SetMsrs(msrs);
        bool pvh = mode == EntryMode.Pvh32;
        vcpu.SetRegs(pvh ? PvhRegs(entry, X86Layout.PvhStartInfoAddress) : Regs(entry, X86Layout.BootParamsAddress));
        vcpu.SetFpu(Fpu());
        var sregs = vcpu.GetSregs();
        vcpu.SetSregs(pvh ? ProtectedModeSregs(sregs) : LongModeSregs(sregs));
        vcpu.SetLapic(Lapic(vcpu.GetLapic()));
        return accepted;
    }
}
