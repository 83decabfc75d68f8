using System.Buffers.Binary;
using System.Text;

namespace Kraud.Vmm.Boot;

/// <summary>
/// The Intel MultiProcessor Specification 1.4 tables that tell a guest kernel without ACPI how many processors
/// it has and how the ISA interrupts reach the I/O APIC: without them Linux boots on the BSP alone. The floating
/// pointer sits in the last KiB of base memory (0x9fc00, reserved in e820), which Linux scans, and the
/// configuration table follows it: one processor entry per vCPU (local APIC id = vCPU index, as CPUID and KVM
/// number them), the ISA bus, the in-kernel I/O APIC at 0xfec00000, its 24 pins wired one to one to ISA IRQs
/// (the virtio-mmio devices' lines included), ExtINT on LINT0 and NMI on LINT1, as Firecracker writes them.
/// </summary>
public static class MpTable
{
    public const ulong Address = X86Layout.EbdaStart;
    public const uint LocalApicAddress = 0xfee0_0000, IoApicAddress = 0xfec0_0000;
    public const int IoApicPins = 24;

    private const int FloatingPointerSize = 16, HeaderSize = 44, ProcessorSize = 20, EntrySize = 8;
    private const byte SpecRevision = 4, LocalApicVersion = 0x14, IoApicVersion = 0x11;
    private const byte ProcessorEntry = 0, BusEntry = 1, IoApicEntry = 2, IoInterruptEntry = 3, LocalInterruptEntry = 4;
    private const byte InterruptInt = 0, InterruptNmi = 1, InterruptExtInt = 3;
    private const byte CpuEnabled = 1, CpuBootProcessor = 2;
    private const uint CpuSignature = 0x600, CpuFeatures = 0x201; // family 6; FPU and APIC present

    /// <summary>The I/O APIC's id: the first one after the processors' local APIC ids.</summary>
    public static byte IoApicId(int vcpus) => (byte)vcpus;

    /// <summary>The floating pointer and the configuration table for <paramref name="vcpus"/> processors.</summary>
    public static byte[] Build(int vcpus)
    {
        if (vcpus is < 1 or > 254) throw new ArgumentOutOfRangeException(nameof(vcpus), vcpus, "1..254 processors fit the 8-bit APIC ids");
        int entries = vcpus + 1 + 1 + IoApicPins + 2;
        int tableLength = HeaderSize + vcpus * ProcessorSize + (2 + IoApicPins + 2) * EntrySize;
        var bytes = new byte[FloatingPointerSize + tableLength];

        var mpf = bytes.AsSpan(0, FloatingPointerSize);
        "_MP_"u8.CopyTo(mpf);
        BinaryPrimitives.WriteUInt32LittleEndian(mpf[4..], (uint)(Address + FloatingPointerSize));
        mpf[8] = 1; // length in 16-byte units
        mpf[9] = SpecRevision;
        // mpf[11..16]: feature bytes 0, the configuration table is present
        mpf[10] = Checksum(mpf);

        var table = bytes.AsSpan(FloatingPointerSize);
        "PCMP"u8.CopyTo(table);
        BinaryPrimitives.WriteUInt16LittleEndian(table[4..], (ushort)tableLength);
        table[6] = SpecRevision;
        Encoding.ASCII.GetBytes("KRAUD   ").CopyTo(table[8..]);
        Encoding.ASCII.GetBytes("KRAUD-VMM   ").CopyTo(table[16..]);
        BinaryPrimitives.WriteUInt16LittleEndian(table[34..], (ushort)entries);
        BinaryPrimitives.WriteUInt32LittleEndian(table[36..], LocalApicAddress);

        int at = HeaderSize;
        for (int cpu = 0; cpu < vcpus; cpu++, at += ProcessorSize)
        {
            var e = table.Slice(at, ProcessorSize);
            e[0] = ProcessorEntry;
            e[1] = (byte)cpu;
            e[2] = LocalApicVersion;
            e[3] = (byte)(CpuEnabled | (cpu == 0 ? CpuBootProcessor : 0));
            BinaryPrimitives.WriteUInt32LittleEndian(e[4..], CpuSignature);
            BinaryPrimitives.WriteUInt32LittleEndian(e[8..], CpuFeatures);
        }
        var bus = table.Slice(at, EntrySize);
        bus[0] = BusEntry;
        "ISA   "u8.CopyTo(bus[2..]);
        at += EntrySize;

        byte ioApic = IoApicId(vcpus);
        var io = table.Slice(at, EntrySize);
        io[0] = IoApicEntry;
        io[1] = ioApic;
        io[2] = IoApicVersion;
        io[3] = 1; // enabled
        BinaryPrimitives.WriteUInt32LittleEndian(io[4..], IoApicAddress);
        at += EntrySize;

        for (int irq = 0; irq < IoApicPins; irq++, at += EntrySize)
            Interrupt(table.Slice(at, EntrySize), IoInterruptEntry, InterruptInt, sourceIrq: (byte)irq, destination: ioApic, pin: (byte)irq);
        Interrupt(table.Slice(at, EntrySize), LocalInterruptEntry, InterruptExtInt, sourceIrq: 0, destination: 0, pin: 0);
        at += EntrySize;
        Interrupt(table.Slice(at, EntrySize), LocalInterruptEntry, InterruptNmi, sourceIrq: 0, destination: 0xff, pin: 1);

        table[7] = Checksum(table);
        return bytes;
    }

    private static void Interrupt(Span<byte> e, byte entryType, byte interruptType, byte sourceIrq, byte destination, byte pin)
    {
        e[0] = entryType;
        e[1] = interruptType;
        // e[2..4]: flags 0, polarity and trigger as the bus defines them (ISA: active high, edge)
        e[4] = 0; // source bus: the ISA bus
        e[5] = sourceIrq;
        e[6] = destination;
        e[7] = pin;
    }

    /// <summary>The byte that makes the structure's bytes sum to zero (its checksum field still zero).</summary>
    private static byte Checksum(ReadOnlySpan<byte> structure)
    {
        byte sum = 0;
        foreach (byte b in structure) sum += b;
        return (byte)-sum;
    }
}
