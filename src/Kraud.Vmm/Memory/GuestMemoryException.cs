namespace Kraud.Vmm.Memory;

/// <summary>An access outside guest RAM: a bad guest pointer (a device refuses the request) or a loader bug.</summary>
public sealed class GuestMemoryException(ulong gpa, ulong length)
    : Exception($"guest physical range 0x{gpa:x}+0x{length:x} is not in guest memory")
{
    public ulong Address { get; } = gpa;
    public ulong Length { get; } = length;
}
