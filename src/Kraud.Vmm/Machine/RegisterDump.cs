using System.Text;
using Kraud.Vmm.Ioctls;
using Kraud.Vmm.Memory;

namespace Kraud.Vmm.Machine;

/// <summary>A vCPU's registers as text for the log when the guest dies.</summary>
internal static class RegisterDump
{
    public static string Format(Vcpu vcpu, GuestMemory memory)
    {
        var sb = new StringBuilder();
        try
        {
            var r = vcpu.GetRegs();
            sb.Append($"vcpu {vcpu.Id}: rip={r.Rip:x16} rsp={r.Rsp:x16} rbp={r.Rbp:x16} rflags={r.Rflags:x8}\n");
            sb.Append($"  rax={r.Rax:x16} rbx={r.Rbx:x16} rcx={r.Rcx:x16} rdx={r.Rdx:x16}\n");
            sb.Append($"  rsi={r.Rsi:x16} rdi={r.Rdi:x16} r8={r.R8:x16} r9={r.R9:x16}\n");
            sb.Append($"  r10={r.R10:x16} r11={r.R11:x16} r12={r.R12:x16} r13={r.R13:x16} r14={r.R14:x16} r15={r.R15:x16}\n");
            var s = vcpu.GetSregs();
            sb.Append($"  cr0={s.Cr0:x16} cr2={s.Cr2:x16} cr3={s.Cr3:x16} cr4={s.Cr4:x16} efer={s.Efer:x16}\n");
            sb.Append($"  cs={s.Cs.Selector:x4} base={s.Cs.Base:x} l={s.Cs.L} ss={s.Ss.Selector:x4} gdt={s.Gdt.Base:x}/{s.Gdt.Limit:x} idt={s.Idt.Base:x}/{s.Idt.Limit:x}");
            // The instruction bytes at RIP tell an emulation failure's cause (which instruction KVM could not emulate).
            ulong? pa = (s.Cr0 & 0x8000_0000) != 0 ? PageWalker.Translate(memory, s.Cr3, r.Rip) : r.Rip;
            if (pa is { } at && memory.Contains(at, 16))
                sb.Append($"\n  code at rip (gpa 0x{at:x}): {Convert.ToHexString(memory.GetSpan(at, 16)).ToLowerInvariant()}");
        }
        catch (Exception e) when (e is IOException)
        {
            sb.Append($"vcpu {vcpu.Id}: registers unavailable: {e.Message}");
        }
        return sb.ToString();
    }
}
