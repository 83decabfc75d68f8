namespace Kraud.Vmm.Devices.Legacy;

/// <summary>
/// Just enough of the i8042 keyboard controller for a guest to reset the machine: command 0xfe on port 0x64
/// pulses the reset line, which for a microVM means power-off. Registered at ports 0x60..0x64.
/// </summary>
public sealed class I8042(Action onReset) : IBusDevice
{
    public const ulong PortBase = 0x60, PortCount = 5; // 0x60 data .. 0x64 command/status
    private const ulong CommandOffset = 4;
    private const byte ResetCommand = 0xfe;

    public void Read(ulong offset, Span<byte> data) => data.Clear(); // no keyboard: status 0, output buffer empty

    public void Write(ulong offset, ReadOnlySpan<byte> data)
    {
        if (offset == CommandOffset && data.Length > 0 && data[0] == ResetCommand) onReset();
    }
}
