namespace Kraud.Vmm.Devices.Virtio.VhostUser;

/// <summary>
/// A virtio device whose queues a vhost-user back end serves: the monitor gives it one kick eventfd per queue
/// (registered with KVM_IOEVENTFD, never polled by the monitor) and the call eventfd of its interrupt line.
/// </summary>
public interface IVhostUserDevice : IVirtioDevice
{
    void Wire(IReadOnlyList<int> kickFds, int callFd);
}
