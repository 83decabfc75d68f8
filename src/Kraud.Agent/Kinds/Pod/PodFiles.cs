namespace Kraud.Agent.Kinds.Pod;

/// <summary>The VMM's launch file (contract section 8), as kraud-vmm's LaunchFileReader reads it.</summary>
public sealed record VmLaunchFile(string Id, int Vcpus, long MemoryMiB, string Kernel, string? Initrd, string Cmdline, string? SerialLog,
    IReadOnlyList<VmDisk> Disks, IReadOnlyList<VmNet> Nets, IReadOnlyList<VmShare>? Shares = null);

public sealed record VmDisk(string Path, bool ReadOnly);

public sealed record VmNet(string Tap, string Mac);

/// <summary>A virtio-fs share: the tag the guest mounts and the vhost-user socket of its virtiofsd.</summary>
public sealed record VmShare(string Tag, string Socket);

/// <summary>
/// The guest's launch.json, the one file of the config disk (a tar). Disks are listed in the order the VM has them
/// (virtio-mmio device order = the order of the launch file's disks): `disks[i].index` is that position, so the guest
/// finds each disk without serials.
/// </summary>
public sealed record GuestLaunch(int Version, string Id, IReadOnlyList<GuestDisk> Disks, IReadOnlyList<GuestContainer> Containers, GuestNetwork? Network);

/// <param name="Role">config, cache, layer or volume.</param>
public sealed record GuestDisk(int Index, string Role, string? Digest = null, string? Volume = null, bool ReadOnly = false);

public sealed record GuestContainer(string Name, string Image, string? ImageDigest, IReadOnlyList<GuestLayer> Layers, PodProcess Process,
    PodLifecycle Lifecycle, IReadOnlyList<GuestMount> Mounts);

/// <summary>A layer, bottom first: <see cref="Id"/> is its disk's index, <see cref="Digest"/> the compressed blob's (what the disk holds).</summary>
public sealed record GuestLayer(string Id, string Digest, string MediaType, int Disk, string? DiffId);

/// <param name="Disk">The block volume's disk index, -1 for an nfs volume, which the guest mounts as virtio-fs <paramref name="Share"/> (the
/// share is the volume's <paramref name="VolumePath"/> already).</param>
public sealed record GuestMount(string Volume, string VolumePath, string GuestPath, bool ReadOnly, int Disk, string? Share = null);

/// <summary>The pod's addresses, and the host side's transit addresses as its gateways (cradle v2).</summary>
public sealed record GuestNetwork(string Mac, string Ip6, string? Ip4, string Gateway6, string Gateway4, IReadOnlyList<string> Nameservers, string? SearchDomain);
