using Kraud.Vmm.Memory;

namespace Kraud.Vmm.Devices.Virtio.Net;

/// <summary>
/// virtio-net (virtio 1.2 section 5.1) on a tap: queue 0 receives, queue 1 transmits, each buffer begins with a
/// 12-byte virtio_net_hdr_v1 that the tap shares. The MAC is announced in config space. No offloads yet.
/// </summary>
public sealed class VirtioNet(Tap tap, byte[] mac) : IVirtioDevice, IDisposable
{
    public const uint TypeNet = 1;
    private const ulong FeatureMac = 1UL << 5;
    private const int RxQueue = 0, TxQueue = 1, MaxFrame = Tap.VnetHeaderSize + 65536;

    private readonly byte[] _frame = new byte[MaxFrame];
    private readonly byte[] _txFrame = new byte[MaxFrame];
    private GuestMemory? _memory;
    private IReadOnlyList<SplitQueue> _queues = [];
    private Action _signalUsed = () => { };
    private int _pendingLength; // a frame read from the tap that found no receive buffer yet

    public uint DeviceType => TypeNet;
    public ulong DeviceFeatures => FeatureMac;
    public IReadOnlyList<ushort> QueueMaxSizes { get; } = [256, 256];

    /// <summary>Frames arriving on the tap, wanted only while the guest has receive buffers for them.</summary>
    public IReadOnlyList<HostEvent> HostEvents => [new(tap.Fd, () => WantsRx, ProcessTapReadable)];

    /// <summary>The tap is worth polling: the driver is up and a frame can be delivered.</summary>
    public bool WantsRx { get; private set; }

    public void ReadConfig(ulong offset, Span<byte> data)
    {
        data.Clear();
        for (int i = 0; i < data.Length; i++)
            if (offset + (ulong)i < 6) data[i] = mac[(int)offset + i];
    }

    public void WriteConfig(ulong offset, ReadOnlySpan<byte> data) { }

    public void Activate(GuestMemory memory, IReadOnlyList<SplitQueue> queues, ulong negotiatedFeatures, Action signalUsed)
    {
        _memory = memory;
        _queues = queues;
        _signalUsed = signalUsed;
        WantsRx = true;
    }

    public void Reset()
    {
        _memory = null;
        WantsRx = false;
        _pendingLength = 0;
    }

    public void ProcessQueue(int queue)
    {
        if (queue == TxQueue) Transmit();
        else if (queue == RxQueue) WantsRx = _memory != null; // new receive buffers: poll the tap again
    }

    /// <summary>The tap has frames: move as many as there are receive buffers for.</summary>
    public void ProcessTapReadable()
    {
        if (_memory is not { } memory) return;
        var q = _queues[RxQueue];
        bool used = false;
        while (true)
        {
            if (_pendingLength == 0)
            {
                _pendingLength = tap.Read(_frame);
                if (_pendingLength == 0) break;
            }
            DescriptorChain? chain;
            try { chain = q.Pop(memory); }
            catch (InvalidChainException) { WantsRx = false; break; }
            if (chain == null)
            {
                WantsRx = false; // wait for the driver to add buffers (its notify turns this back on)
                break;
            }
            var frame = _frame.AsSpan(0, _pendingLength);
            frame[10] = 1; // num_buffers: one buffer per frame without VIRTIO_NET_F_MRG_RXBUF
            frame[11] = 0;
            int written = chain.WritableLength >= frame.Length ? chain.CopyTo(memory, 0, frame) : 0; // too small: drop
            q.PushUsed(memory, chain.Head, (uint)written);
            _pendingLength = 0;
            used = true;
        }
        if (used) _signalUsed();
    }

    private void Transmit()
    {
        if (_memory is not { } memory) return;
        var q = _queues[TxQueue];
        bool used = false;
        while (true)
        {
            DescriptorChain? chain;
            try { chain = q.Pop(memory); }
            catch (InvalidChainException) { break; }
            if (chain == null) break;
            int length = Math.Min(chain.ReadableLength, MaxFrame);
            chain.CopyFrom(memory, 0, _txFrame.AsSpan(0, length));
            if (length > Tap.VnetHeaderSize) tap.Write(_txFrame.AsSpan(0, length));
            q.PushUsed(memory, chain.Head, 0);
            used = true;
        }
        if (used) _signalUsed();
    }

    public void Dispose() => tap.Dispose();
}
