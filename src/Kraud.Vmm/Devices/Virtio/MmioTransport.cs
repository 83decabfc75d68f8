using System.Buffers.Binary;
using Kraud.Vmm.Memory;

namespace Kraud.Vmm.Devices.Virtio;

/// <summary>
/// The virtio-mmio transport, version 2 registers (virtio 1.2 section 4.2.2): feature negotiation, queue setup,
/// status and interrupt status in a 4 KiB window, device config from offset 0x100. Queue notifications normally
/// arrive by ioeventfd; a notify register write that reaches us goes to <see cref="QueueNotified"/>.
/// </summary>
public sealed class MmioTransport : IBusDevice
{
    private const uint Magic = 0x74726976, Version = 2, VendorId = 0x4b524155; // "KRAU"
    private const uint StatusDriverOk = 4, StatusFeaturesOk = 8, StatusFailed = 0x80;
    public const ulong QueueNotifyOffset = 0x50;
    public const uint InterruptUsedBuffer = 1;

    private readonly IVirtioDevice _device;
    private readonly GuestMemory _memory;
    private readonly IInterruptLine _interrupt;
    private readonly SplitQueue[] _queues;
    private uint _deviceFeaturesSel, _driverFeaturesSel, _queueSel, _status, _interruptStatus;
    private ulong _driverFeatures;
    private bool _activated;

    public MmioTransport(IVirtioDevice device, GuestMemory memory, IInterruptLine interrupt)
    {
        _device = device;
        _memory = memory;
        _interrupt = interrupt;
        _queues = device.QueueMaxSizes.Select(max => new SplitQueue(max)).ToArray();
    }

    /// <summary>Held while registers change and while the device processes queues.</summary>
    public object Sync { get; } = new();

    public int QueueCount => _queues.Length;

    public bool Activated { get { lock (Sync) return _activated; } }

    /// <summary>Called when a notify write reaches the transport instead of an ioeventfd.</summary>
    public Action<int>? QueueNotified { get; set; }

    /// <summary>Processes queue <paramref name="queue"/> if the driver has activated the device.</summary>
    public void Notify(int queue)
    {
        lock (Sync)
            if (_activated && queue >= 0 && queue < _queues.Length) _device.ProcessQueue(queue);
    }

    public void Read(ulong offset, Span<byte> data)
    {
        if (offset >= 0x100)
        {
            lock (Sync) _device.ReadConfig(offset - 0x100, data);
            return;
        }
        uint value;
        lock (Sync) value = ReadRegister(offset);
        Span<byte> bytes = stackalloc byte[4];
        BinaryPrimitives.WriteUInt32LittleEndian(bytes, value);
        bytes[..Math.Min(4, data.Length)].CopyTo(data);
    }

    public void Write(ulong offset, ReadOnlySpan<byte> data)
    {
        if (offset >= 0x100)
        {
            lock (Sync) _device.WriteConfig(offset - 0x100, data);
            return;
        }
        if (data.Length != 4) return; // registers are 32-bit wide (virtio 1.2 4.2.2.2)
        uint value = BinaryPrimitives.ReadUInt32LittleEndian(data);
        if (offset == QueueNotifyOffset)
        {
            QueueNotified?.Invoke((int)value);
            return;
        }
        lock (Sync) WriteRegister(offset, value);
    }

    /// <summary>Tells the driver the device put buffers in a used ring.</summary>
    public void SignalUsed()
    {
        lock (Sync) _interruptStatus |= InterruptUsedBuffer;
        _interrupt.Trigger();
    }

    private SplitQueue? SelectedQueue => _queueSel < _queues.Length ? _queues[_queueSel] : null;

    private uint ReadRegister(ulong offset) => offset switch
    {
        0x000 => Magic,
        0x004 => Version,
        0x008 => _device.DeviceType,
        0x00c => VendorId,
        0x010 => _deviceFeaturesSel switch
        {
            0 => (uint)(_device.DeviceFeatures | VirtioFeatures.Version1),
            1 => (uint)((_device.DeviceFeatures | VirtioFeatures.Version1) >> 32),
            _ => 0,
        },
        0x034 => SelectedQueue?.MaxSize ?? 0u,
        0x044 => SelectedQueue is { Ready: true } ? 1u : 0u,
        0x060 => _interruptStatus | (_activated && _device.InterruptsBypassTransport ? InterruptUsedBuffer : 0),
        0x070 => _status,
        0x0b0 or 0x0b4 => 0xffffffff, // no shared memory regions
        0x0fc => 0, // config generation: our config never changes under the driver
        _ => 0,
    };

    private void WriteRegister(ulong offset, uint value)
    {
        var q = SelectedQueue;
        bool queueWritable = q is { Ready: false } && !_activated;
        switch (offset)
        {
            case 0x014: _deviceFeaturesSel = value; break;
            case 0x020:
                if (_driverFeaturesSel == 0) _driverFeatures = (_driverFeatures & ~0xffffffffUL) | value;
                else if (_driverFeaturesSel == 1) _driverFeatures = (_driverFeatures & 0xffffffffUL) | ((ulong)value << 32);
                break;
            case 0x024: _driverFeaturesSel = value; break;
            case 0x030: _queueSel = value; break;
            case 0x038 when queueWritable: q!.Size = (ushort)Math.Min(value, ushort.MaxValue); break;
            case 0x044 when q != null: q.Ready = value == 1; break;
            case 0x064: _interruptStatus &= ~value; break;
            case 0x070: WriteStatus(value); break;
            case 0x080 when queueWritable: q!.DescTable = (q.DescTable & ~0xffffffffUL) | value; break;
            case 0x084 when queueWritable: q!.DescTable = (q.DescTable & 0xffffffffUL) | ((ulong)value << 32); break;
            case 0x090 when queueWritable: q!.AvailRing = (q.AvailRing & ~0xffffffffUL) | value; break;
            case 0x094 when queueWritable: q!.AvailRing = (q.AvailRing & 0xffffffffUL) | ((ulong)value << 32); break;
            case 0x0a0 when queueWritable: q!.UsedRing = (q.UsedRing & ~0xffffffffUL) | value; break;
            case 0x0a4 when queueWritable: q!.UsedRing = (q.UsedRing & 0xffffffffUL) | ((ulong)value << 32); break;
        }
    }

    private void WriteStatus(uint value)
    {
        if (value == 0)
        {
            Reset();
            return;
        }
        if ((value & StatusFeaturesOk) != 0 && (_status & StatusFeaturesOk) == 0)
        {
            // Refuse features we never offered, and a driver that does not speak virtio 1.
            ulong offered = _device.DeviceFeatures | VirtioFeatures.Version1;
            if ((_driverFeatures & ~offered) != 0 || (_driverFeatures & VirtioFeatures.Version1) == 0) value &= ~StatusFeaturesOk;
        }
        _status = value;
        if ((value & StatusDriverOk) != 0 && (value & StatusFailed) == 0 && !_activated)
        {
            foreach (var q in _queues)
                if (q.Ready && !q.IsValid(_memory)) { _status |= 0x40; return; } // DEVICE_NEEDS_RESET: a queue outside guest memory
            _activated = true;
            _device.Activate(_memory, _queues, _driverFeatures, SignalUsed);
        }
    }

    private void Reset()
    {
        _status = 0;
        _interruptStatus = 0;
        _driverFeatures = 0;
        _queueSel = _deviceFeaturesSel = _driverFeaturesSel = 0;
        foreach (var q in _queues) q.Reset();
        if (_activated) _device.Reset();
        _activated = false;
    }
}
