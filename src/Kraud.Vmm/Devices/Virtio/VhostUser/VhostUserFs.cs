using System.Text;
using Kraud.Libc;
using Kraud.Vmm.Memory;

namespace Kraud.Vmm.Devices.Virtio.VhostUser;

/// <summary>
/// virtio-fs (virtio 1.2 section 5.11) served by a vhost-user back end (virtiofsd): the VMM only negotiates and
/// hands the back end the guest's memfd, the rings' addresses, the kick eventfds (KVM_IOEVENTFD on the
/// queue-notify register) and the call eventfd (KVM_IRQFD on the device's line). FUSE requests and their
/// completions then go guest → KVM → back end → KVM → guest without one instruction of ours. Queue 0 is the
/// high-priority queue, the rest are request queues. A back end that dies is reported once; the guest's
/// requests then stay unanswered, and the rest of the VM runs on.
/// </summary>
public sealed class VhostUserFs : IVhostUserDevice, IDisposable
{
    public const uint TypeFs = 26;
    public const int TagLength = 36;
    private const ulong FeatureIndirectDesc = 1UL << 28, FeatureEventIdx = 1UL << 29;
    private const ushort QueueSize = 1024;

    private readonly VhostUserFrontend _frontend;
    private readonly byte[] _config = new byte[TagLength + 4];
    private readonly Action<string> _reportLost;
    private IReadOnlyList<int> _kickFds = [];
    private int _callFd = -1;
    private readonly List<int> _started = [];
    private bool _lost;

    /// <summary>
    /// Connects to the back end at <paramref name="socketPath"/> (throws when nobody listens there).
    /// <paramref name="reportLost"/> is told, once, why the back end is gone.
    /// </summary>
    public VhostUserFs(string tag, string socketPath, Action<string> reportLost, int requestQueues = 1)
    {
        byte[] tagBytes = Encoding.UTF8.GetBytes(tag);
        if (tagBytes.Length is 0 or > TagLength) throw new ArgumentException($"tag '{tag}' must be 1..{TagLength} bytes", nameof(tag));
        tagBytes.CopyTo(_config, 0);
        BitConverter.TryWriteBytes(_config.AsSpan(TagLength), (uint)requestQueues);
        Tag = tag;
        SocketPath = socketPath;
        _reportLost = reportLost;
        QueueMaxSizes = Enumerable.Repeat(QueueSize, 1 + requestQueues).ToArray();
        _frontend = VhostUserFrontend.Connect(socketPath, TimeSpan.FromSeconds(5));
    }

    public string Tag { get; }
    public string SocketPath { get; }
    public uint DeviceType => TypeFs;

    /// <summary>The ring features the back end implements, passed to the guest; VERSION_1 is the transport's.</summary>
    public ulong DeviceFeatures => _frontend.BackendFeatures & (FeatureIndirectDesc | FeatureEventIdx);

    public IReadOnlyList<ushort> QueueMaxSizes { get; }

    /// <summary>The back end raises the interrupt through the irqfd itself; the transport cannot set the status bit first.</summary>
    public bool InterruptsBypassTransport => true;

    public bool BackendLost => _lost;

    public void Wire(IReadOnlyList<int> kickFds, int callFd)
    {
        _kickFds = kickFds;
        _callFd = callFd;
    }

    public void ReadConfig(ulong offset, Span<byte> data)
    {
        data.Clear();
        if (offset < (ulong)_config.Length) _config.AsSpan((int)offset, Math.Min(data.Length, _config.Length - (int)offset)).CopyTo(data);
    }

    public void WriteConfig(ulong offset, ReadOnlySpan<byte> data) { } // read-only (virtio 1.2 5.11.4)

    public void Activate(GuestMemory memory, IReadOnlyList<SplitQueue> queues, ulong negotiatedFeatures, Action signalUsed)
    {
        if (_lost) return;
        Talk("start the queues", () =>
        {
            _frontend.SetFeatures(negotiatedFeatures);
            var regions = memory.Regions.Select(r => new VhostUserFrontend.MemoryRegion(
                r.GuestBase, r.Size, (ulong)r.HostAddress, r.FileOffset, memory.Memfd)).ToArray();
            _frontend.SetMemTable(regions);
            for (int q = 0; q < queues.Count; q++)
            {
                var queue = queues[q];
                if (!queue.Ready) continue;
                _frontend.SetVringNum(q, queue.Size);
                _frontend.SetVringBase(q, 0);
                _frontend.SetVringAddr(q,
                    (ulong)memory.HostAddress(queue.DescTable, 16UL * queue.Size),
                    (ulong)memory.HostAddress(queue.UsedRing, 6 + 8UL * queue.Size),
                    (ulong)memory.HostAddress(queue.AvailRing, 6 + 2UL * queue.Size));
                _frontend.SetVringKick(q, _kickFds[q]);
                _frontend.SetVringCall(q, _callFd);
                if ((_frontend.BackendFeatures & VhostUserFrontend.ProtocolFeaturesBit) != 0) _frontend.SetVringEnable(q, true);
                _started.Add(q);
            }
        });
    }

    /// <summary>Never called while the back end is wired: KVM hands notifications to it directly.</summary>
    public void ProcessQueue(int queue) { }

    /// <summary>The driver reset the device: the back end stops its queues (GET_VRING_BASE), ready for a new start.</summary>
    public void Reset()
    {
        if (_lost) return;
        Talk("stop the queues", () =>
        {
            foreach (int q in _started) _frontend.GetVringBase(q);
        });
        _started.Clear();
    }

    /// <summary>The back end's socket: readable only when it closed (the back end speaks only when asked).</summary>
    public IReadOnlyList<HostEvent> HostEvents => [new HostEvent(_frontend.SocketFd, () => !_lost, () =>
    {
        if (!_lost && _frontend.PeerClosed()) Lose("closed its socket (exited or was killed)");
    })];

    private void Talk(string what, Action exchange)
    {
        try
        {
            exchange();
        }
        catch (Exception e) when (e is LibcException or EndOfStreamException or InvalidDataException or GuestMemoryException)
        {
            Lose($"failed to {what}: {e.Message}");
        }
    }

    private void Lose(string why)
    {
        if (_lost) return;
        _lost = true;
        _reportLost($"virtio-fs '{Tag}': vhost-user back end at {SocketPath} {why}; the share stops answering, the VM runs on");
    }

    public void Dispose() => _frontend.Dispose();
}

