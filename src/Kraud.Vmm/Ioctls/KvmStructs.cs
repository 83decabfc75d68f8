using System.Runtime.InteropServices;

namespace Kraud.Vmm.Ioctls;

/// <summary>struct kvm_regs: the general purpose registers.</summary>
[StructLayout(LayoutKind.Sequential)]
public struct KvmRegs
{
    public ulong Rax, Rbx, Rcx, Rdx, Rsi, Rdi, Rsp, Rbp, R8, R9, R10, R11, R12, R13, R14, R15, Rip, Rflags;
}

/// <summary>struct kvm_segment (24 bytes).</summary>
[StructLayout(LayoutKind.Sequential)]
public struct KvmSegment
{
    public ulong Base;
    public uint Limit;
    public ushort Selector;
    public byte Type, Present, Dpl, Db, S, L, G, Avl, Unusable, Padding;
}

/// <summary>struct kvm_dtable (16 bytes): a GDT or IDT base and limit.</summary>
[StructLayout(LayoutKind.Sequential)]
public struct KvmDtable
{
    public ulong Base;
    public ushort Limit;
    private ushort _p0, _p1, _p2;
}

/// <summary>struct kvm_sregs (312 bytes): segments, descriptor tables, control registers.</summary>
[StructLayout(LayoutKind.Sequential)]
public unsafe struct KvmSregs
{
    public KvmSegment Cs, Ds, Es, Fs, Gs, Ss, Tr, Ldt;
    public KvmDtable Gdt, Idt;
    public ulong Cr0, Cr2, Cr3, Cr4, Cr8, Efer, ApicBase;
    public fixed ulong InterruptBitmap[4];
}

/// <summary>struct kvm_fpu (416 bytes).</summary>
[StructLayout(LayoutKind.Sequential)]
public unsafe struct KvmFpu
{
    public fixed byte Fpr[128];
    public ushort Fcw, Fsw;
    public byte Ftwx, Pad1;
    public ushort LastOpcode;
    public ulong LastIp, LastDp;
    public fixed byte Xmm[256];
    public uint Mxcsr, Pad2;
}

/// <summary>struct kvm_lapic_state: the local APIC's 1 KiB register page.</summary>
[StructLayout(LayoutKind.Sequential)]
public unsafe struct KvmLapicState
{
    public fixed byte Regs[1024];
}

/// <summary>struct kvm_cpuid_entry2 (40 bytes).</summary>
[StructLayout(LayoutKind.Sequential)]
public struct KvmCpuidEntry
{
    public uint Function, Index, Flags, Eax, Ebx, Ecx, Edx;
    private uint _p0, _p1, _p2;
}

/// <summary>struct kvm_msr_entry (16 bytes).</summary>
[StructLayout(LayoutKind.Sequential)]
public struct KvmMsrEntry
{
    public uint Index;
    private uint _reserved;
    public ulong Data;

    public KvmMsrEntry(uint index, ulong data)
    {
        Index = index;
        _reserved = 0;
        Data = data;
    }
}

[StructLayout(LayoutKind.Sequential)]
internal struct KvmUserspaceMemoryRegion
{
    public uint Slot, Flags;
    public ulong GuestPhysAddr, MemorySize, UserspaceAddr;
}

[StructLayout(LayoutKind.Sequential)]
internal struct KvmIrqLevel
{
    public uint Irq, Level;
}

[StructLayout(LayoutKind.Sequential, Size = 32)]
internal struct KvmIrqfd
{
    public uint Fd, Gsi, Flags, ResampleFd;
}

[StructLayout(LayoutKind.Sequential, Size = 64)]
internal struct KvmPitConfig
{
    public uint Flags;
}

[StructLayout(LayoutKind.Sequential, Size = 64)]
internal struct KvmIoeventfd
{
    public ulong Datamatch, Addr;
    public uint Len;
    public int Fd;
    public uint Flags;
}
