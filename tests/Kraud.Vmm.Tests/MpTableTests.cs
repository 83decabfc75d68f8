using System.Buffers.Binary;
using Kraud.Vmm.Boot;

namespace Kraud.Vmm.Tests;

/// <summary>The MP tables at their limits (the smp guest reads them at 1 and 3 vCPUs on /dev/kvm).</summary>
public sealed class MpTableTests
{
    [Fact]
    public void TheLargestTable_StillSumsToZero_AndCountsEveryEntry()
    {
        byte[] bytes = MpTable.Build(254);
        var table = bytes.AsSpan(16);
        int length = BinaryPrimitives.ReadUInt16LittleEndian(table[4..]);
        Assert.Equal(bytes.Length - 16, length);
        Assert.Equal(0, Sum(bytes.AsSpan(0, 16)));
        Assert.Equal(0, Sum(table));
        Assert.Equal(254 + 1 + 1 + 24 + 2, BinaryPrimitives.ReadUInt16LittleEndian(table[34..]));
        Assert.Equal(254, MpTable.IoApicId(254)); // after the last local APIC id, below the broadcast id 255
    }

    [Theory]
    [InlineData(0)]
    [InlineData(255)]
    public void ProcessorCountsOutsideTheApicIds_AreRefused(int vcpus) =>
        Assert.Throws<ArgumentOutOfRangeException>(() => MpTable.Build(vcpus));

    private static byte Sum(ReadOnlySpan<byte> bytes)
    {
        byte sum = 0;
        foreach (byte b in bytes) sum += b;
        return sum;
    }
}
