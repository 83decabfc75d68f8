using Kraud.Vmm.Devices;
using Kraud.Vmm.Devices.Legacy;

namespace Kraud.Vmm.Tests;

/// <summary>The UART behaviours Linux's 8250 driver relies on: transmit, THRE interrupts, scratch, loopback probe.</summary>
public sealed class Serial8250Tests
{
    private sealed class CountingLine : IInterruptLine
    {
        public int Count;
        public void Trigger() => Count++;
    }

    private static byte In(Serial8250 s, ulong reg)
    {
        Span<byte> b = stackalloc byte[1];
        s.Read(reg, b);
        return b[0];
    }

    private static void Out(Serial8250 s, ulong reg, byte value) => s.Write(reg, [value]);

    [Fact]
    public void TransmittedBytes_ReachTheOutput_AndTheTransmitterIsAlwaysEmpty()
    {
        var output = new List<byte>();
        var s = new Serial8250(output.Add, null);
        Assert.Equal(0x60, In(s, 5) & 0x60); // THRE | TEMT
        foreach (var b in "ok\n"u8) Out(s, 0, b);
        Assert.Equal("ok\n"u8.ToArray(), output);
    }

    [Fact]
    public void EnablingThri_RaisesTheInterrupt_AndIirReportsItOnce()
    {
        var line = new CountingLine();
        var s = new Serial8250(_ => { }, line);
        Assert.Equal(1, In(s, 2) & 0x0f); // no interrupt pending
        Out(s, 1, 0x02); // IER: THRI
        Assert.Equal(1, line.Count);
        Assert.Equal(2, In(s, 2) & 0x0f); // THR empty
        Assert.Equal(1, In(s, 2) & 0x0f); // reading IIR cleared it
        Out(s, 0, (byte)'x');
        Assert.Equal(2, line.Count);
    }

    [Fact]
    public void DivisorLatch_Scratch_AndLoopbackProbe_BehaveLikeA16550()
    {
        var output = new List<byte>();
        var s = new Serial8250(output.Add, null);
        Out(s, 3, 0x80); // DLAB
        Out(s, 0, 0x01);
        Out(s, 1, 0x00);
        Assert.Equal(0x01, In(s, 0));
        Out(s, 3, 0x03);
        Out(s, 7, 0x5a);
        Assert.Equal(0x5a, In(s, 7));
        Out(s, 4, 0x10 | 0x0a); // loopback with RTS and OUT2: Linux expects MSR & 0xf0 == 0x90
        Assert.Equal(0x90, In(s, 6) & 0xf0);
        Out(s, 0, (byte)'L'); // looped back, not transmitted
        Assert.Empty(output);
        Assert.Equal(1, In(s, 5) & 1);
        Assert.Equal((byte)'L', In(s, 0));
    }
}
