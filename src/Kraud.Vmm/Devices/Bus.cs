namespace Kraud.Vmm.Devices;

/// <summary>
/// Address ranges mapped to devices, for one address space (ports or MMIO). Registration happens before the
/// vCPUs start; lookups afterwards are lock-free reads of an immutable array.
/// </summary>
public sealed class Bus
{
    private (ulong Start, ulong Length, IBusDevice Device)[] _ranges = [];

    public void Register(ulong start, ulong length, IBusDevice device)
    {
        foreach (var r in _ranges)
            if (start < r.Start + r.Length && r.Start < start + length)
                throw new ArgumentException($"range 0x{start:x}+0x{length:x} overlaps 0x{r.Start:x}+0x{r.Length:x}");
        _ranges = [.. _ranges, (start, length, device)];
    }

    /// <summary>Dispatches a read; an address no device claims reads as all ones, as on real hardware.</summary>
    public bool Read(ulong address, Span<byte> data)
    {
        foreach (var r in _ranges)
            if (address >= r.Start && address - r.Start < r.Length)
            {
                r.Device.Read(address - r.Start, data);
                return true;
            }
        data.Fill(0xff);
        return false;
    }

    /// <summary>Dispatches a write; writes to unclaimed addresses are dropped.</summary>
    public bool Write(ulong address, ReadOnlySpan<byte> data)
    {
        foreach (var r in _ranges)
            if (address >= r.Start && address - r.Start < r.Length)
            {
                r.Device.Write(address - r.Start, data);
                return true;
            }
        return false;
    }
}
