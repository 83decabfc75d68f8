using Kraud.Vmm.Memory;

namespace Kraud.Vmm.Devices.Virtio;

/// <summary>
/// A virtio device behind some transport: it offers features and a config space, and once the driver sets
/// DRIVER_OK it is activated with its queues and processes them when notified. It knows nothing of the monitor.
/// </summary>
public interface IVirtioDevice
{
    uint DeviceType { get; }

    ulong DeviceFeatures { get; }

    IReadOnlyList<ushort> QueueMaxSizes { get; }

    void ReadConfig(ulong offset, Span<byte> data);

    void WriteConfig(ulong offset, ReadOnlySpan<byte> data);

    /// <summary>The driver finished setup; <paramref name="signalUsed"/> tells the driver about used buffers.</summary>
    void Activate(GuestMemory memory, IReadOnlyList<SplitQueue> queues, ulong negotiatedFeatures, Action signalUsed);

    /// <summary>The driver made buffers available on queue <paramref name="queue"/>.</summary>
    void ProcessQueue(int queue);

    /// <summary>The driver reset the device: forget the queues.</summary>
    void Reset();

    /// <summary>Host fds the device waits on besides its queue notifications, handled under the transport's lock.</summary>
    IReadOnlyList<HostEvent> HostEvents => [];

    /// <summary>
    /// Another process raises this device's interrupt through its irqfd (a vhost-user back end), so the transport
    /// never sees a used buffer: the interrupt status then always reads "used buffer" once the device runs, as
    /// Firecracker does for its vhost-user devices; the driver's interrupt handler then always looks at the rings.
    /// </summary>
    bool InterruptsBypassTransport => false;
}

public static class VirtioFeatures
{
    public const ulong Version1 = 1UL << 32;
}
