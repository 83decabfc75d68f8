using Kraud.Vmm.Boot;
using Kraud.Vmm.Memory;

namespace Kraud.Vmm.Tests;

public sealed class GuestMemoryTests
{
    [Fact]
    public void AccessesInsideARegion_RoundTrip_AndAnythingCrossingItsEnd_Throws()
    {
        using var memory = new GuestMemory([(0, 0x10000), (0x100000, 0x1000)]);
        memory.Write(0xfff8, 0x1122334455667788UL);
        Assert.Equal(0x1122334455667788UL, memory.Read<ulong>(0xfff8));
        memory.Write(0x100ffc, 7u);
        Assert.Equal(7u, memory.Read<uint>(0x100ffc));

        Assert.Throws<GuestMemoryException>(() => memory.Read<ulong>(0xfffc)); // crosses the end of region 0
        Assert.Throws<GuestMemoryException>(() => memory.GetSpan(0x10000, 1)); // the hole between regions
        Assert.Throws<GuestMemoryException>(() => memory.GetSpan(0x100ffd, 4));
        Assert.Throws<GuestMemoryException>(() => memory.GetSpan(ulong.MaxValue - 1, 4)); // wraps around
        Assert.False(memory.Contains(0xffffffff_fffff000, 0x2000));
    }

    [Fact]
    public void RamAboveTheDeviceHole_MovesPast4GiB()
    {
        var regions = X86Layout.RamRegions(4UL << 30);
        Assert.Equal([(0UL, 0xd000_0000UL), (0x1_0000_0000UL, 0x3000_0000UL)], regions);
        var e820 = E820Entry.ForRam(regions);
        Assert.Equal(new E820Entry(0, 0x9fc00, E820Entry.Ram), e820[0]);
        Assert.Equal(new E820Entry(0x100000, 0xd000_0000 - 0x100000, E820Entry.Ram), e820[1]);
        Assert.Equal(new E820Entry(0x1_0000_0000, 0x3000_0000, E820Entry.Ram), e820[2]);
    }
}
