namespace Kraud.Vmm.Devices.Legacy;

/// <summary>
/// An 8250/16550A UART at eight ports (COM1: 0x3f8, IRQ 4). Transmitted bytes go to <paramref name="output"/>
/// at once (the transmitter is always empty); input is optional and queued by <see cref="Enqueue"/>.
/// Loopback is modelled because Linux's 8250 probe checks it.
/// </summary>
public sealed class Serial8250(Action<byte> output, IInterruptLine? interrupt) : IBusDevice
{
    public const ulong Com1 = 0x3f8, PortCount = 8;
    public const uint Com1Irq = 4;

    private const byte IerRdi = 1, IerThri = 2;
    private const byte IirNone = 1, IirThri = 2, IirRdi = 4, IirFifo = 0xc0;
    private const byte LcrDlab = 0x80, McrLoop = 0x10;
    private const byte LsrDr = 1, LsrThre = 0x20, LsrTemt = 0x40;

    private readonly object _sync = new();
    private readonly Queue<byte> _rx = new();
    private byte _ier, _lcr = 0x03, _mcr = 0x08, _scr, _dll = 0x0c, _dlm;
    private bool _thrEmptyPending, _fifo;

    /// <summary>Bytes for the guest to read (console input).</summary>
    public void Enqueue(ReadOnlySpan<byte> bytes)
    {
        bool raise;
        lock (_sync)
        {
            foreach (var b in bytes) _rx.Enqueue(b);
            raise = (_ier & IerRdi) != 0;
        }
        if (raise) interrupt?.Trigger();
    }

    public void Read(ulong offset, Span<byte> data)
    {
        if (data.IsEmpty) return;
        lock (_sync) data[0] = ReadRegister(offset);
        data[1..].Clear();
    }

    public void Write(ulong offset, ReadOnlySpan<byte> data)
    {
        if (data.IsEmpty) return;
        bool raise = false;
        byte value = data[0];
        lock (_sync)
        {
            bool dlab = (_lcr & LcrDlab) != 0;
            switch (offset)
            {
                case 0 when dlab: _dll = value; break;
                case 0:
                    if ((_mcr & McrLoop) != 0) _rx.Enqueue(value);
                    else output(value);
                    _thrEmptyPending = true;
                    raise = (_ier & IerThri) != 0;
                    break;
                case 1 when dlab: _dlm = value; break;
                case 1:
                    bool thriTurnedOn = (value & IerThri) != 0 && (_ier & IerThri) == 0;
                    _ier = (byte)(value & 0x0f);
                    if (thriTurnedOn) { _thrEmptyPending = true; raise = true; }
                    break;
                case 2: _fifo = (value & 1) != 0; break;
                case 3: _lcr = value; break;
                case 4: _mcr = (byte)(value & 0x1f); break;
                case 7: _scr = value; break;
            }
        }
        if (raise) interrupt?.Trigger();
    }

    private byte ReadRegister(ulong offset)
    {
        bool dlab = (_lcr & LcrDlab) != 0;
        switch (offset)
        {
            case 0 when dlab: return _dll;
            case 0: return _rx.Count > 0 ? _rx.Dequeue() : (byte)0;
            case 1 when dlab: return _dlm;
            case 1: return _ier;
            case 2:
            {
                byte iir = IirNone;
                if ((_ier & IerRdi) != 0 && _rx.Count > 0) iir = IirRdi;
                else if ((_ier & IerThri) != 0 && _thrEmptyPending) { iir = IirThri; _thrEmptyPending = false; }
                return (byte)(iir | (_fifo ? IirFifo : 0));
            }
            case 3: return _lcr;
            case 4: return _mcr;
            case 5: return (byte)(LsrThre | LsrTemt | (_rx.Count > 0 ? LsrDr : 0));
            case 6:
                if ((_mcr & McrLoop) != 0)
                    return (byte)(((_mcr & 1) << 5) | ((_mcr & 2) << 3) | ((_mcr & 4) << 4) | ((_mcr & 8) << 4));
                return 0xb0; // DCD, DSR, CTS: a cable is attached and ready
            case 7: return _scr;
            default: return 0;
        }
    }
}
