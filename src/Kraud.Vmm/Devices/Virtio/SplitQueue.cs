using Kraud.Vmm.Memory;

namespace Kraud.Vmm.Devices.Virtio;

/// <summary>
/// A split virtqueue (virtio 1.2 section 2.7): the descriptor table, the driver's available ring and the
/// device's used ring, at the guest addresses the driver configured. Every guest-supplied index and address
/// is checked before use.
/// </summary>
public sealed class SplitQueue(ushort maxSize)
{
    private const ushort DescNext = 1, DescWrite = 2, DescIndirect = 4;

    public ushort MaxSize { get; } = maxSize;
    public ushort Size { get; set; } = maxSize;
    public bool Ready { get; set; }
    public ulong DescTable { get; set; }
    public ulong AvailRing { get; set; }
    public ulong UsedRing { get; set; }

    private ushort _nextAvail, _nextUsed;

    public void Reset()
    {
        Size = MaxSize;
        Ready = false;
        DescTable = AvailRing = UsedRing = 0;
        _nextAvail = _nextUsed = 0;
    }

    /// <summary>The queue is usable: a power-of-two size no larger than the maximum, and all three areas in guest memory.</summary>
    public bool IsValid(GuestMemory memory) =>
        Ready && Size != 0 && Size <= MaxSize && (Size & (Size - 1)) == 0
        && memory.Contains(DescTable, 16UL * Size)
        && memory.Contains(AvailRing, 6 + 2UL * Size)
        && memory.Contains(UsedRing, 6 + 8UL * Size);

    /// <summary>Takes the next chain the driver made available, or null when there is none.</summary>
    public DescriptorChain? Pop(GuestMemory memory)
    {
        if (!IsValid(memory)) return null;
        ushort availIdx = memory.ReadUInt16Acquire(AvailRing + 2);
        if (availIdx == _nextAvail) return null;
        if ((ushort)(availIdx - _nextAvail) > Size) throw new InvalidChainException($"avail idx {availIdx} runs {(ushort)(availIdx - _nextAvail)} ahead of a {Size}-entry queue");
        ushort head = memory.Read<ushort>(AvailRing + 4 + 2UL * (ulong)(_nextAvail % Size));
        _nextAvail++;
        return ReadChain(memory, head);
    }

    /// <summary>Returns a chain to the driver with the number of bytes written into it.</summary>
    public void PushUsed(GuestMemory memory, ushort head, uint writtenLength)
    {
        ulong slot = UsedRing + 4 + 8UL * (ulong)(_nextUsed % Size);
        memory.Write(slot, (uint)head);
        memory.Write(slot + 4, writtenLength);
        _nextUsed++;
        memory.WriteUInt16Release(UsedRing + 2, _nextUsed);
    }

    private DescriptorChain ReadChain(GuestMemory memory, ushort head)
    {
        var list = new List<Descriptor>();
        ushort index = head;
        while (true)
        {
            if (index >= Size) throw new InvalidChainException($"descriptor index {index} outside a {Size}-entry table");
            if (list.Count >= Size) throw new InvalidChainException("descriptor chain loops");
            ulong at = DescTable + 16UL * index;
            ulong addr = memory.Read<ulong>(at);
            uint len = memory.Read<uint>(at + 8);
            ushort flags = memory.Read<ushort>(at + 12);
            ushort next = memory.Read<ushort>(at + 14);
            if ((flags & DescIndirect) != 0) throw new InvalidChainException("indirect descriptors were not negotiated");
            if (!memory.Contains(addr, len)) throw new InvalidChainException($"descriptor 0x{addr:x}+0x{len:x} outside guest memory");
            list.Add(new Descriptor(addr, len, (flags & DescWrite) != 0));
            if ((flags & DescNext) == 0) break;
            index = next;
        }
        return new DescriptorChain(head, list);
    }
}
