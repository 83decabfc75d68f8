using Kraud.Vmm.Memory;

namespace Kraud.Vmm.Devices.Virtio;

/// <summary>One buffer of a descriptor chain: a guest range the device may only read, or only write.</summary>
public readonly record struct Descriptor(ulong Address, uint Length, bool Writable);

/// <summary>
/// A request the driver made available: the descriptors of one chain, already checked to lie in guest memory
/// and to be finite. Devices read the readable part and fill the writable part in order.
/// </summary>
public sealed class DescriptorChain(ushort head, List<Descriptor> descriptors)
{
    public ushort Head { get; } = head;
    public IReadOnlyList<Descriptor> Descriptors { get; } = descriptors;

    public int ReadableLength { get { int n = 0; foreach (var d in Descriptors) if (!d.Writable) n += (int)d.Length; return n; } }
    public int WritableLength { get { int n = 0; foreach (var d in Descriptors) if (d.Writable) n += (int)d.Length; return n; } }

    /// <summary>Copies the readable part, from byte <paramref name="skip"/> on, into <paramref name="destination"/>; returns bytes copied.</summary>
    public int CopyFrom(GuestMemory memory, int skip, Span<byte> destination)
    {
        int copied = 0;
        foreach (var d in Descriptors)
        {
            if (d.Writable) continue;
            int len = (int)d.Length;
            if (skip >= len) { skip -= len; continue; }
            int n = Math.Min(len - skip, destination.Length - copied);
            memory.GetSpan(d.Address + (ulong)skip, n).CopyTo(destination[copied..]);
            copied += n;
            skip = 0;
            if (copied == destination.Length) break;
        }
        return copied;
    }

    /// <summary>Copies <paramref name="source"/> into the writable part from byte <paramref name="skip"/> on; returns bytes copied.</summary>
    public int CopyTo(GuestMemory memory, int skip, ReadOnlySpan<byte> source)
    {
        int copied = 0;
        foreach (var d in Descriptors)
        {
            if (!d.Writable) continue;
            int len = (int)d.Length;
            if (skip >= len) { skip -= len; continue; }
            int n = Math.Min(len - skip, source.Length - copied);
            source.Slice(copied, n).CopyTo(memory.GetSpan(d.Address + (ulong)skip, n));
            copied += n;
            skip = 0;
            if (copied == source.Length) break;
        }
        return copied;
    }
}

/// <summary>The driver handed over a chain the device cannot use (out of memory bounds, looping, indirect).</summary>
public sealed class InvalidChainException(string message) : Exception(message);
