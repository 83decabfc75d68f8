using Kraud.Vmm.Devices.Virtio;
using Kraud.Vmm.Memory;

namespace Kraud.Vmm.Tests;

/// <summary>Guest-controlled ring contents are checked: chains that leave guest memory, loop or run off the table are refused.</summary>
public sealed class SplitQueueTests
{
    private const ulong Desc = 0x1000, Avail = 0x2000, Used = 0x3000;

    private static (GuestMemory, SplitQueue) Queue()
    {
        var memory = new GuestMemory([(0, 0x100000)]);
        var q = new SplitQueue(8) { Size = 8, DescTable = Desc, AvailRing = Avail, UsedRing = Used, Ready = true };
        return (memory, q);
    }

    private static void SetDesc(GuestMemory m, int i, ulong addr, uint len, ushort flags, ushort next)
    {
        ulong at = Desc + 16UL * (ulong)i;
        m.Write(at, addr);
        m.Write(at + 8, len);
        m.Write(at + 12, flags);
        m.Write(at + 14, next);
    }

    private static void MakeAvailable(GuestMemory m, ushort head)
    {
        ushort idx = m.Read<ushort>(Avail + 2);
        m.Write(Avail + 4 + 2UL * (ulong)(idx % 8), head);
        m.Write(Avail + 2, (ushort)(idx + 1));
    }

    [Fact]
    public void AValidChain_IsReturned_AndUsedRingAdvances()
    {
        var (m, q) = Queue();
        using var _ = m;
        SetDesc(m, 0, 0x8000, 16, 1, 1);
        SetDesc(m, 1, 0x9000, 512, 2, 0);
        MakeAvailable(m, 0);
        var chain = q.Pop(m)!;
        Assert.Equal([new Descriptor(0x8000, 16, false), new Descriptor(0x9000, 512, true)], chain.Descriptors);
        Assert.Null(q.Pop(m));
        q.PushUsed(m, chain.Head, 513);
        Assert.Equal(1, m.Read<ushort>(Used + 2));
        Assert.Equal(513u, m.Read<uint>(Used + 8));
    }

    [Fact]
    public void ADescriptorOutsideGuestMemory_IsRefused()
    {
        var (m, q) = Queue();
        using var _ = m;
        SetDesc(m, 0, 0xff000, 0x2000, 0, 0); // runs past the end of RAM
        MakeAvailable(m, 0);
        Assert.Throws<InvalidChainException>(() => q.Pop(m));
    }

    [Fact]
    public void ALoopingChain_IsRefused()
    {
        var (m, q) = Queue();
        using var _ = m;
        SetDesc(m, 0, 0x8000, 16, 1, 1);
        SetDesc(m, 1, 0x8000, 16, 1, 0);
        MakeAvailable(m, 0);
        Assert.Throws<InvalidChainException>(() => q.Pop(m));
    }

    [Fact]
    public void AHeadOrNextBeyondTheTable_IsRefused()
    {
        var (m, q) = Queue();
        using var _ = m;
        MakeAvailable(m, 9);
        Assert.Throws<InvalidChainException>(() => q.Pop(m));
    }

    [Fact]
    public void AQueuePlacedOutsideGuestMemory_IsNotUsable()
    {
        var (m, q) = Queue();
        using var _ = m;
        q.UsedRing = 0xffff0;
        Assert.False(q.IsValid(m));
        Assert.Null(q.Pop(m));
    }
}
