using System.Buffers.Binary;
using Kraud.Vmm.Devices;
using Kraud.Vmm.Devices.Virtio;
using Kraud.Vmm.Memory;

namespace Kraud.Vmm.Tests;

/// <summary>The virtio-mmio register protocol, driven the way a driver does, against a recording device.</summary>
public sealed class MmioTransportTests
{
    private sealed class RecordingDevice : IVirtioDevice
    {
        public int Activations, Resets;
        public List<int> Processed { get; } = [];
        public uint DeviceType => 2;
        public ulong DeviceFeatures => 1UL << 9;
        public IReadOnlyList<ushort> QueueMaxSizes { get; } = [16];
        public void ReadConfig(ulong offset, Span<byte> data) => data.Fill((byte)(0x40 + offset));
        public void WriteConfig(ulong offset, ReadOnlySpan<byte> data) { }
        public void Activate(GuestMemory memory, IReadOnlyList<SplitQueue> queues, ulong negotiatedFeatures, Action signalUsed) => Activations++;
        public void ProcessQueue(int queue) => Processed.Add(queue);
        public void Reset() => Resets++;
    }

    private sealed class CountingLine : IInterruptLine
    {
        public int Count;
        public void Trigger() => Count++;
    }

    private static uint Read(MmioTransport t, ulong offset)
    {
        Span<byte> b = stackalloc byte[4];
        t.Read(offset, b);
        return BinaryPrimitives.ReadUInt32LittleEndian(b);
    }

    private static void Write(MmioTransport t, ulong offset, uint value)
    {
        Span<byte> b = stackalloc byte[4];
        BinaryPrimitives.WriteUInt32LittleEndian(b, value);
        t.Write(offset, b);
    }

    private static void SetUpQueue(MmioTransport t, ulong desc)
    {
        Write(t, 0x30, 0);
        Write(t, 0x38, 16);
        Write(t, 0x80, (uint)desc);
        Write(t, 0x90, (uint)desc + 0x100);
        Write(t, 0xa0, (uint)desc + 0x200);
        Write(t, 0x44, 1);
    }

    [Fact]
    public void Identity_Features_QueueSetup_Activation_Notify_Interrupt_Reset()
    {
        using var memory = new GuestMemory([(0, 0x100000)]);
        var device = new RecordingDevice();
        var line = new CountingLine();
        var t = new MmioTransport(device, memory, line);
        Assert.Equal(0x74726976u, Read(t, 0x000));
        Assert.Equal(2u, Read(t, 0x004));
        Assert.Equal(2u, Read(t, 0x008));
        Write(t, 0x014, 0);
        Assert.Equal(1u << 9, Read(t, 0x010));
        Write(t, 0x014, 1);
        Assert.Equal(1u, Read(t, 0x010)); // VIRTIO_F_VERSION_1
        Assert.Equal(0x41u * 0x01010101u, Read(t, 0x101)); // config space from 0x100

        Write(t, 0x070, 1 | 2);
        Write(t, 0x024, 1);
        Write(t, 0x020, 1);
        Write(t, 0x070, 1 | 2 | 8);
        Assert.Equal(1u | 2 | 8, Read(t, 0x070));
        SetUpQueue(t, 0x1000);
        Assert.Equal(16u, Read(t, 0x034));
        Write(t, 0x070, 1 | 2 | 8 | 4);
        Assert.Equal(1, device.Activations);
        Assert.True(t.Activated);

        t.Notify(0);
        Assert.Equal([0], device.Processed);
        t.SignalUsed();
        Assert.Equal(1, line.Count);
        Assert.Equal(1u, Read(t, 0x060));
        Write(t, 0x064, 1);
        Assert.Equal(0u, Read(t, 0x060));

        Write(t, 0x070, 0);
        Assert.Equal(1, device.Resets);
        Assert.False(t.Activated);
        Assert.Equal(0u, Read(t, 0x044));
    }

    [Fact]
    public void FeaturesNotOffered_OrNoVersion1_AreRefusedAtFeaturesOk()
    {
        using var memory = new GuestMemory([(0, 0x100000)]);
        var t = new MmioTransport(new RecordingDevice(), memory, new CountingLine());
        Write(t, 0x070, 1 | 2);
        Write(t, 0x024, 0);
        Write(t, 0x020, 1u << 9); // no VERSION_1: a legacy driver
        Write(t, 0x070, 1 | 2 | 8);
        Assert.Equal(0u, Read(t, 0x070) & 8);

        Write(t, 0x070, 0);
        Write(t, 0x070, 1 | 2);
        Write(t, 0x024, 0);
        Write(t, 0x020, 1u << 3); // a feature the device never offered
        Write(t, 0x024, 1);
        Write(t, 0x020, 1);
        Write(t, 0x070, 1 | 2 | 8);
        Assert.Equal(0u, Read(t, 0x070) & 8);
    }

    [Fact]
    public void AQueueOutsideGuestMemory_IsNotActivated_AndTheDeviceAsksForReset()
    {
        using var memory = new GuestMemory([(0, 0x100000)]);
        var device = new RecordingDevice();
        var t = new MmioTransport(device, memory, new CountingLine());
        Write(t, 0x070, 1 | 2);
        Write(t, 0x024, 1);
        Write(t, 0x020, 1);
        Write(t, 0x070, 1 | 2 | 8);
        SetUpQueue(t, 0xfff00); // used ring at 0x100100: past the end of RAM
        Write(t, 0x070, 1 | 2 | 8 | 4);
        Assert.Equal(0, device.Activations);
        Assert.Equal(0x40u, Read(t, 0x070) & 0x40); // DEVICE_NEEDS_RESET
    }
}
